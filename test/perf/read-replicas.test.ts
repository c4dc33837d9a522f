import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/crypto/secrets";
import { adminAuth, bearer, createUser, type TestUser } from "../helpers";
import { keyOf } from "../oauth/support";
import { send } from "./support";

/*
 * Issue 11 item 5: KEYWARD_D1_READ_REPLICAS. Verification reads go through a D1 session
 * opened "first-unconstrained" (any replica); a secret the replica does not know is looked up
 * again on the primary before a 401; a client's x-d1-bookmark opens the session from its own
 * writes, and every response carries the new bookmark. Off (the default), no session is used.
 */

type Use = "primary" | `session:${string}`;

/** A D1 binding that records where each query ran; `lagging` sessions find no credential yet. */
function trackingD1(options: { lagging?: boolean } = {}) {
  const uses: Use[] = [];
  const sessions: string[] = [];
  const real = env.DB;
  const trackStatement = (stmt: D1PreparedStatement, use: Use, lag: boolean): D1PreparedStatement =>
    new Proxy(stmt, {
      get(s, p) {
        if (p === "__target") return s;
        const v = Reflect.get(s, p);
        if (p === "bind")
          return (...args: unknown[]) => trackStatement((v as D1PreparedStatement["bind"]).apply(s, args), use, lag);
        if (p === "run" || p === "all" || p === "first" || p === "raw") {
          return async (...args: unknown[]) => {
            uses.push(use);
            const result = await (v as (...a: unknown[]) => Promise<any>).apply(s, args);
            // A replica that has not seen the newest writes: the lookup finds nothing.
            if (!lag) return result;
            return p === "raw" ? [] : p === "first" ? null : { ...result, results: [] };
          };
        }
        return typeof v === "function" ? v.bind(s) : v;
      },
    });
  const track = <T extends object>(target: T, use: Use, lag: boolean): T =>
    new Proxy(target, {
      get(t, prop) {
        const value = Reflect.get(t, prop);
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            uses.push(use);
            // D1 wants its own statement objects.
            const own = statements.map((st) => (st as any).__target ?? st);
            const results = await (value as D1Database["batch"]).call(t, own);
            // A replica that has not seen the newest writes: the credential lookup finds nothing.
            return lag ? results.map((r, i) => (i === 0 ? { ...r, results: [] } : r)) : results;
          };
        }
        if (prop === "prepare") {
          return (sql: string) => trackStatement((value as D1Database["prepare"]).call(t, sql), use, lag);
        }
        if (prop === "withSession") {
          return (constraint?: string) => {
            sessions.push(constraint ?? "(none)");
            return track(real.withSession(constraint), `session:${constraint}`, options.lagging ?? false);
          };
        }
        return typeof value === "function" ? value.bind(t) : value;
      },
    });
  return { db: track(real, "primary", false) as D1Database, uses, sessions };
}

const REPLICAS = { KEYWARD_D1_READ_REPLICAS: "true" };
let alice: TestUser;

beforeAll(async () => {
  alice = await createUser();
});

describe("read replicas on", () => {
  it("verifies an API key through a first-unconstrained session, never the primary", async () => {
    const { apiKey } = await keyOf(alice);
    await send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } });
    const d1 = trackingD1();
    const { response } = await send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } }, { ...REPLICAS, DB: d1.db });
    expect(response.status).toBe(200);
    expect(d1.sessions).toEqual(["first-unconstrained"]);
    expect(d1.uses).toEqual(["session:first-unconstrained"]);
    expect(response.headers.get("x-d1-bookmark")).toBeTruthy();
  });

  it("re-checks an unknown secret on the primary before the 401", async () => {
    const d1 = trackingD1();
    const { response } = await send(
      "/api/v1/user/",
      { headers: { authorization: bearer(generateSecret("zak")) } },
      { ...REPLICAS, DB: d1.db },
    );
    expect(response.status).toBe(401);
    expect(d1.uses.slice(0, 2)).toEqual(["session:first-unconstrained", "primary"]);
  });

  it("never refuses a credential the replica has not seen yet", async () => {
    const { apiKey } = await keyOf(alice);
    const d1 = trackingD1({ lagging: true });
    const { response } = await send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } }, { ...REPLICAS, DB: d1.db });
    expect(response.status).toBe(200);
    expect(d1.uses).toContain("primary");
  });

  it("opens the session from the client's x-d1-bookmark, so it reads its own writes", async () => {
    const created = await send(
      "/v2/_zot/ext/apikey",
      {
        method: "POST",
        body: JSON.stringify({ label: "mine" }),
        headers: { authorization: adminAuth(), "content-type": "application/json" },
      },
      REPLICAS,
    );
    expect(created.response.status).toBe(201);
    const bookmark = created.response.headers.get("x-d1-bookmark")!;
    expect(bookmark).toBeTruthy();
    const d1 = trackingD1();
    const listed = await send(
      "/v2/_zot/ext/apikey",
      { headers: { authorization: adminAuth(), "x-d1-bookmark": bookmark } },
      { ...REPLICAS, DB: d1.db },
    );
    expect(listed.response.status).toBe(200);
    expect(d1.sessions).toEqual([bookmark]);
    const { uuid } = await created.response.json<{ uuid: string }>();
    expect((await listed.response.json<any>()).apiKeys.map((k: any) => k.uuid)).toContain(uuid);
  });

  it("answers a malformed bookmark with 400 and no database work", async () => {
    const d1 = trackingD1();
    const { response } = await send(
      "/api/v1/user/",
      { headers: { authorization: alice.auth, "x-d1-bookmark": "not a bookmark!" } },
      { ...REPLICAS, DB: d1.db },
    );
    expect(response.status).toBe(400);
    expect(d1.sessions).toEqual([]);
  });
});

describe("read replicas off (the default)", () => {
  it("opens no session and sends no bookmark", async () => {
    const { apiKey } = await keyOf(alice);
    const d1 = trackingD1();
    const { response } = await send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } }, { DB: d1.db });
    expect(response.status).toBe(200);
    expect(d1.sessions).toEqual([]);
    expect(d1.uses.every((u) => u === "primary")).toBe(true);
    expect(response.headers.get("x-d1-bookmark")).toBeNull();
  });
});
