import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { invalidateVerifyCache } from "../../src/credentials/verifyCache";
import { adminAuth, basic, bearer, createUser, type TestUser } from "../helpers";
import { keyOf, registryToken } from "../oauth/support";
import { send } from "./support";

/*
 * Issue 11 item 4: KEYWARD_VERIFY_CACHE_SECONDS. A verified API key or registry token is
 * reused by the isolate for at most that long (no D1 read); a revoke, disable or delete
 * through this isolate is effective at once; a change made elsewhere within the bound; and the
 * default (0) stays strict: every request reads D1.
 */

const CACHE = { KEYWARD_VERIFY_CACHE_SECONDS: "60" };
const SHORT = { KEYWARD_VERIFY_CACHE_SECONDS: "1" };
let alice: TestUser;

beforeAll(async () => {
  alice = await createUser();
  invalidateVerifyCache();
});

const me = (key: string, bindings: Record<string, string> = CACHE) =>
  send("/api/v1/user/", { headers: { authorization: bearer(key) } }, bindings);

describe("cache mode", () => {
  it("serves a verified key from the isolate: no D1 round trip the second time", async () => {
    const { apiKey } = await keyOf(alice);
    expect((await me(apiKey)).response.status).toBe(200);
    const again = await me(apiKey);
    expect(again.response.status).toBe(200);
    expect(again.roundTrips).toBe(0);
  });

  it("serves /v2/auth from the cache too, with the owner's grants", async () => {
    const { apiKey } = await keyOf(alice);
    const path = `/v2/auth?service=registry.local&scope=repository:${alice.username}/app:pull`;
    const init = { headers: { authorization: basic(alice.username, apiKey) } };
    expect((await send(path, init, CACHE)).response.status).toBe(200);
    const again = await send(path, init, CACHE);
    expect(again.roundTrips).toBe(0);
    const { access } = JSON.parse(atob((await again.response.json<any>()).token.split(".")[1]));
    expect(access[0].actions).toEqual(["pull"]);
  });

  it("a revoke through this isolate is effective on the next request", async () => {
    const key = await keyOf(alice);
    expect((await me(key.apiKey)).response.status).toBe(200);
    const revoked = await send(
      `/v2/_zot/ext/apikey?id=${key.uuid}`,
      { method: "DELETE", headers: { authorization: alice.auth } },
      CACHE,
    );
    expect(revoked.response.status).toBe(200);
    expect((await me(key.apiKey)).response.status).toBe(401);
  });

  it("a registry token disabled through this isolate is refused on the next request", async () => {
    const robot = await registryToken();
    const login = () =>
      send(`/v2/auth?service=${robot.service}`, { headers: { authorization: basic(robot.name, robot.password) } }, CACHE);
    expect((await login()).response.status).toBe(200);
    expect((await login()).roundTrips).toBe(0);
    const patched = await send(
      `/registries/${robot.registryId}/tokens/${robot.tokenId}`,
      {
        method: "PATCH",
        body: JSON.stringify({ status: "disabled" }),
        headers: { authorization: adminAuth(), "content-type": "application/json" },
      },
      CACHE,
    );
    expect(patched.response.status).toBe(200);
    expect((await login()).response.status).toBe(401);
  });

  it("a change made elsewhere (another isolate) is seen within the bound, not before", async () => {
    const { apiKey, uuid } = await keyOf(alice);
    expect((await me(apiKey, SHORT)).response.status).toBe(200);
    // Deleted behind this isolate's back, as another isolate's revoke would.
    await env.DB.prepare("DELETE FROM api_keys WHERE id = ?").bind(uuid).run();
    expect((await me(apiKey, SHORT)).response.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await me(apiKey, SHORT)).response.status).toBe(401);
  });

  it("still judges expiry on every use of a cached key", async () => {
    const key = await keyOf(alice, { label: "brief", expirationDate: new Date(Date.now() + 1500).toISOString() });
    expect((await me(key.apiKey)).response.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    const expired = await me(key.apiKey);
    expect(expired.response.status).toBe(401);
  });

  it("does not cache failures: a key refused once is looked up again", async () => {
    const { apiKey } = await keyOf(alice);
    expect((await me(apiKey.replace(/^zak_./, "zak_A"))).response.status).toBe(401);
    expect((await me(apiKey)).response.status).toBe(200);
  });
});

describe("strict mode (the default)", () => {
  it("reads D1 on every request: a key deleted elsewhere is refused on the next request", async () => {
    const { apiKey, uuid } = await keyOf(alice);
    expect((await me(apiKey, {})).response.status).toBe(200);
    expect((await me(apiKey, {})).roundTrips).toBe(1);
    expect((await me(apiKey, {})).roundTrips).toBe(1);
    await env.DB.prepare("DELETE FROM api_keys WHERE id = ?").bind(uuid).run();
    expect((await me(apiKey, {})).response.status).toBe(401);
  });

  it("refuses the configuration above 300 seconds or below 0", async () => {
    for (const bad of ["301", "-1", "1.5", "soon"]) {
      const { response } = await me("zak_x", { KEYWARD_VERIFY_CACHE_SECONDS: bad });
      expect(response.status).toBe(503);
    }
  });
});
