import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { generateSecret } from "../src/crypto/secrets";
import worker from "../src/index";
import { LIMITS } from "../src/services/authFailures";
import { countingD1 } from "./db-spy";
import { adminAuth, basic, bearer, call, createKey, createUser, json, ORIGIN, uniqueIp, uniqueName } from "./helpers";

async function fetchWith(db: D1Database, path: string, auth: string) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    new Request(ORIGIN + path, { headers: { authorization: auth, "cf-connecting-ip": uniqueIp() } }),
    { ...env, DB: db },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

describe("authentication", () => {
  it("asks for credentials with WWW-Authenticate when there are none", async () => {
    const response = await call("/api/v1/user/");
    const body = await json(response, 401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Basic realm="keyward"/);
    expect(body.error.code).toBe("unauthorized");
  });

  it("accepts a password, an API key in Basic, and an API key as Bearer", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    for (const auth of [user.auth, basic(user.username, apiKey), bearer(apiKey)]) {
      const me = await json(await call("/api/v1/user/", { auth }), 200);
      expect(me.username).toBe(user.username);
    }
    const viaKey = await json(await call("/api/v1/user/", { auth: bearer(apiKey) }), 200);
    expect(viaKey.authenticated_by).toBe("api_key");
  });

  it("answers an unknown user exactly like a wrong password", async () => {
    const user = await createUser();
    const wrong = await json(await call("/api/v1/user/", { auth: basic(user.username, "not-the-password") }), 401);
    const unknown = await json(await call("/api/v1/user/", { auth: basic(uniqueName("ghost"), "whatever-pw") }), 401);
    expect({ ...wrong.error, requestId: "" }).toEqual({ ...unknown.error, requestId: "" });
  });

  it("refuses an API key presented with another user's name", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const { apiKey } = await createKey(alice);
    await json(await call("/api/v1/user/", { auth: basic(bob.username, apiKey) }), 401);
  });

  it.each([
    ["an unknown scheme", "Digest abc"],
    ["Basic without a colon", `Basic ${btoa("nocolon")}`],
    ["Basic that is not base64", "Basic %%%"],
    ["a Bearer that is not a keyward secret", "Bearer eyJhbGciOiJub25lIn0.e30."],
    ["a Bearer with a wrong checksum", `Bearer ${generateSecret("zak").slice(0, -1)}X`],
    ["a registry-token secret as Bearer", `Bearer ${generateSecret("krt")}`],
  ])("refuses %s with 401", async (_name, auth) => {
    const response = await call("/api/v1/user/", { auth });
    expect((await json(response, 401)).error.code).toBe("unauthorized");
  });

  it("refuses a malformed or mistyped secret without touching D1", async () => {
    await call("/api/v1/user/", { auth: adminAuth() }); // bootstrap done, config cached
    const good = generateSecret("zak");
    for (const secret of [good.slice(0, -1) + (good.endsWith("a") ? "b" : "a"), "zak_short", `${good}x`]) {
      const spy = countingD1();
      const response = await fetchWith(spy.db, "/api/v1/user/", bearer(secret));
      expect(response.status).toBe(401);
      expect(spy.roundTrips()).toBe(0);
    }
  });

  it("resolves a well-formed API key in one D1 round trip", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    await call("/api/v1/user/", { auth: bearer(apiKey) }); // lastUsed now fresh: no deferred write
    const spy = countingD1();
    const response = await fetchWith(spy.db, "/api/v1/user/", bearer(apiKey));
    expect(response.status).toBe(200);
    expect(spy.roundTrips()).toBe(1);
  });

  it("slows repeated failures for one username from one client with 429 and Retry-After, before checking the password", async () => {
    const user = await createUser();
    const ip = uniqueIp();
    for (let i = 0; i < LIMITS.pair; i++) {
      const response = await call("/api/v1/user/", {
        auth: basic(user.username, `wrong-${i}`),
        headers: { "cf-connecting-ip": ip },
      });
      expect(response.status).toBe(401);
    }
    // Even the right password is refused from that client while its lockout lasts.
    const throttled = await call("/api/v1/user/", { auth: user.auth, headers: { "cf-connecting-ip": ip } });
    expect((await json(throttled, 429)).error.code).toBe("rate_limited");
    expect(Number(throttled.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("slows repeated failures from one client with 429", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 50; i++) {
      const response = await call("/api/v1/user/", {
        auth: bearer(generateSecret("zak")),
        headers: { "cf-connecting-ip": ip },
      });
      expect(response.status).toBe(401);
    }
    const response = await call("/api/v1/user/", { auth: bearer(generateSecret("zak")), headers: { "cf-connecting-ip": ip } });
    expect(response.status).toBe(429);
  });

  it("refuses a disabled user's password and keys", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, { method: "PUT", auth: adminAuth(), json: { enabled: false } }),
      200,
    );
    await json(await call("/api/v1/user/", { auth: user.auth }), 401);
    await json(await call("/api/v1/user/", { auth: bearer(apiKey) }), 401);
  });

  it("records failed sign-ins in the audit log, naming only existing users, never the password", async () => {
    const user = await createUser();
    await call("/api/v1/user/", { auth: basic(user.username, "secret-guess-123") });
    const rows = await env.DB.prepare("SELECT * FROM audit_log WHERE kind = 'auth.failed' AND target_id = ?")
      .bind(user.username)
      .all();
    expect(rows.results).toHaveLength(1);
    const ghost = uniqueName("ghost");
    await call("/api/v1/user/", { auth: basic(ghost, "secret-guess-456") });
    const all = JSON.stringify((await env.DB.prepare("SELECT * FROM audit_log WHERE kind = 'auth.failed'").all()).results);
    expect(all).not.toContain(ghost);
    expect(all).not.toContain("secret-guess");
  });
});

describe("concurrent guessing", () => {
  it("cannot slip past the per-client limit for a username by sending guesses at once", async () => {
    const user = await createUser();
    const ip = uniqueIp();
    const guesses = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        call("/api/v1/user/", { auth: basic(user.username, `wrong-${i}`), headers: { "cf-connecting-ip": ip } }),
      ),
    );
    expect(guesses.filter((r) => r.status === 401).length).toBeLessThanOrEqual(LIMITS.pair);
    expect(guesses.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(15 - LIMITS.pair);
    const right = await call("/api/v1/user/", { auth: user.auth, headers: { "cf-connecting-ip": ip } });
    expect(right.status).toBe(429);
  });

  it("answers a blocked client 429 without writing anything more", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 50; i++)
      await call("/api/v1/user/", { auth: bearer(generateSecret("zak")), headers: { "cf-connecting-ip": ip } });
    const count = async () => (await env.DB.prepare("SELECT count(*) AS n FROM audit_log").first<{ n: number }>())!.n;
    const before = await count();
    for (let i = 0; i < 5; i++) {
      const response = await call("/api/v1/user/", { auth: bearer(generateSecret("zak")), headers: { "cf-connecting-ip": ip } });
      expect(response.status).toBe(429);
    }
    expect(await count()).toBe(before);
  });
});
