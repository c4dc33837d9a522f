import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { basic, bearer, createUser, type TestUser } from "./helpers";
import { keyOf, registryToken } from "./oauth/support";
import { send } from "./perf/support";

/*
 * Issue 13 item 5: each API key and registry token is counted with the Workers Rate Limiting
 * binding, keyed by the credential's id. Over the limit: 429 with Retry-After in the surface's
 * format; the credential is otherwise unaffected, other credentials are not counted with it,
 * and it costs no D1 round trip. The tests swap in a binding that allows 3 uses a minute.
 */

const TIGHT = () => ({ CREDENTIAL_RATE_LIMIT: env.CREDENTIAL_RATE_LIMIT_TIGHT });
let alice: TestUser;
beforeAll(async () => {
  alice = await createUser();
});

describe("the per-credential rate limit", () => {
  it("answers the fourth use of an API key in a minute with 429 and Retry-After, in keyward's format", async () => {
    const { apiKey } = await keyOf(alice);
    const use = () => send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } }, TIGHT());
    for (let i = 0; i < 3; i++) expect((await use()).response.status).toBe(200);
    const over = await use();
    expect(over.response.status).toBe(429);
    expect(over.response.headers.get("retry-after")).toBe("60");
    expect(((await over.response.json()) as any).error.code).toBe("rate_limited");
    // Counted per credential: another key of the same user is not affected, nor is the password.
    const other = await keyOf(alice);
    expect((await send("/api/v1/user/", { headers: { authorization: bearer(other.apiKey) } }, TIGHT())).response.status).toBe(
      200,
    );
    expect((await send("/api/v1/user/", { headers: { authorization: alice.auth } }, TIGHT())).response.status).toBe(200);
  });

  it("answers in Docker's format at /v2/auth, for a registry token too", async () => {
    const robot = await registryToken();
    const login = () =>
      send(`/v2/auth?service=${robot.service}`, { headers: { authorization: basic(robot.name, robot.password) } }, TIGHT());
    for (let i = 0; i < 3; i++) expect((await login()).response.status).toBe(200);
    const over = await login();
    expect(over.response.status).toBe(429);
    expect(over.response.headers.get("retry-after")).toBe("60");
    expect(await over.response.json()).toEqual({ errors: [{ code: "TOOMANYREQUESTS", message: expect.any(String) }] });
  });

  it("answers in the JSON-RPC envelope at /_admin/api, with HTTP 200", async () => {
    const { apiKey } = await keyOf(alice);
    const rpc = () =>
      send(
        "/_admin/api",
        {
          method: "POST",
          body: JSON.stringify({ id: 1, api_key: apiKey, method: "get_user", args: {} }),
          headers: { "content-type": "text/plain" },
        },
        TIGHT(),
      );
    for (let i = 0; i < 3; i++) expect(((await (await rpc()).response.json()) as any).error).toBeNull();
    const over = await rpc();
    expect(over.response.status).toBe(200);
    expect(((await over.response.json()) as any).error).toMatch(/rate limit/);
  });

  it("costs no D1 round trip, and leaves the credential itself alone (no write, no failure counted)", async () => {
    const { apiKey } = await keyOf(alice);
    const use = () => send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } }, TIGHT());
    await use();
    const warm = await use();
    expect(warm.roundTrips).toBe(1);
    await use();
    const over = await use();
    expect(over.response.status).toBe(429);
    expect(over.roundTrips).toBe(1);
    expect(over.writes).toBe(0);
  });

  it("does not apply where wrangler.toml's generous limit is in force (the default binding)", async () => {
    expect(env.CREDENTIAL_RATE_LIMIT).toBeDefined();
    const { apiKey } = await keyOf(alice);
    for (let i = 0; i < 5; i++) {
      expect((await send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } })).response.status).toBe(200);
    }
  });
});
