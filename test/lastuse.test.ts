import { beforeAll, describe, expect, it } from "vitest";
import { adminAuth, basic, bearer, call, createUser, json, type TestUser, uniqueIp } from "./helpers";
import { keyOf, refreshToken, registryToken, SERVICE } from "./oauth/support";
import { send } from "./perf/support";
import { Browser } from "./sessions/support";

/*
 * Last use of every credential kind: when and from which client address, written with
 * lastUsed (at most once a minute, after the response) and shown in every listing.
 */

let alice: TestUser;
beforeAll(async () => {
  alice = await createUser();
});

describe("last use with the client address", () => {
  it("API keys: zot's list, keyward's list and Kallithea's get_api_keys show it; a second use within the minute writes nothing new", async () => {
    const key = await keyOf(alice);
    const first = uniqueIp();
    // Through the fetch handler with its execution context awaited: the write comes after the response.
    expect(
      (await send("/api/v1/user/", { headers: { authorization: bearer(key.apiKey), "cf-connecting-ip": first } })).response
        .status,
    ).toBe(200);
    const again = await send("/api/v1/user/", { headers: { authorization: bearer(key.apiKey), "cf-connecting-ip": uniqueIp() } });
    expect(again.writes).toBe(0);
    const zot = (await json(await call("/v2/_zot/ext/apikey", { auth: alice.auth }), 200)).apiKeys.find(
      (k: any) => k.uuid === key.uuid,
    );
    expect(zot).toMatchObject({ lastUsed: expect.any(String), lastUsedIp: first });
    const mine = (await json(await call("/api/v1/user/apikeys", { auth: alice.auth }), 200)).apiKeys.find(
      (k: any) => k.id === key.uuid,
    );
    expect(mine).toMatchObject({ lastUsedAt: expect.any(String), lastUsedIp: first });
    const rpc = await json(
      await call("/_admin/api", { method: "POST", json: { id: 1, api_key: key.apiKey, method: "get_api_keys", args: {} } }),
      200,
    );
    expect(rpc.result.find((k: any) => k.key_id === key.uuid)).toMatchObject({ last_used_ip: first });
  });

  it("registry tokens: the IONOS token object's metadata", async () => {
    const robot = await registryToken();
    const ip = uniqueIp();
    const login = await send(`/v2/auth?service=${robot.service}`, {
      headers: { authorization: basic(robot.name, robot.password), "cf-connecting-ip": ip },
    });
    expect(login.response.status).toBe(200);
    const token = await json(await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, { auth: adminAuth() }), 200);
    expect(token.metadata).toMatchObject({ lastUsed: expect.any(String), lastUsedIp: ip });
  });

  it("refresh tokens: the user's list", async () => {
    const key = await keyOf(alice);
    const token = await refreshToken(alice.username, key.apiKey);
    const ip = uniqueIp();
    const grant = new URLSearchParams({ grant_type: "refresh_token", refresh_token: token, service: SERVICE });
    const used = await send("/v2/auth", {
      method: "POST",
      body: grant.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
    });
    expect(used.response.status).toBe(200);
    const list = await json(await call("/api/v1/user/refresh-tokens", { auth: key.auth }), 200);
    expect(list.refreshTokens.find((t: any) => t.lastUsedIp === ip)).toBeTruthy();
  });

  it("sessions: the sign-in address until the session is used from elsewhere", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const sessions = await json(await browser.fetch("/api/v1/user/sessions"), 200);
    expect(sessions.sessions[0]).toMatchObject({ ip: browser.ip, lastUsedIp: browser.ip });
  });
});
