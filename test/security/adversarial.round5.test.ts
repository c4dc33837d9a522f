import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { ADMIN, adminAuth, basic, call, createUser, json, uniqueIp } from "../helpers";
import { formPost, keyOf, SERVICE } from "../oauth/support";

/*
 * The adversarial pass on issue 11 (the password memo, the verify cache, read replicas), each
 * finding as the attacker tried it. Every test here failed before its fix.
 */

describe("F1: an access token never outlives the credential it was issued for", () => {
  it("a key expiring in seconds mints tokens that expire with it (GET and the refresh grant)", async () => {
    const user = await createUser();
    const expiresAt = new Date(Date.now() + 20_000);
    const key = await keyOf(user, { label: "brief", expirationDate: expiresAt.toISOString() });
    const scope = `repository:${user.username}/app:pull,push`;
    const got = await json(await call(`/v2/auth?service=${SERVICE}&scope=${scope}&offline_token=true`, { auth: key.auth }), 200);
    const limit = Math.floor(expiresAt.getTime() / 1000);
    expect(decodeJwt(got.token).exp).toBeLessThanOrEqual(limit);
    expect(got.expires_in).toBeLessThanOrEqual(20);
    const refreshed = await json(
      await formPost("/v2/auth", { grant_type: "refresh_token", refresh_token: got.refresh_token, service: SERVICE, scope }),
      200,
    );
    expect(decodeJwt(refreshed.token).exp).toBeLessThanOrEqual(limit);
  });

  it("a credential without expiry still gets the configured lifetime", async () => {
    const user = await createUser();
    const got = await json(await call(`/v2/auth?service=${SERVICE}`, { auth: user.auth }), 200);
    expect(got.expires_in).toBe(300);
  });
});

describe("F2: passwords that differ only by a NUL or a lone surrogate are not one password", () => {
  it("a trailing NUL is refused at sign-in, before any KDF", async () => {
    const user = await createUser();
    await json(await call("/api/v1/user/", { auth: user.auth, headers: { "cf-connecting-ip": uniqueIp() } }), 200);
    for (const variant of [`${user.password}\u0000`, `${user.password}\u0000\u0000`]) {
      await json(
        await call("/api/v1/user/", { auth: basic(user.username, variant), headers: { "cf-connecting-ip": uniqueIp() } }),
        401,
      );
    }
    const posted = await formPost("/v2/auth", {
      grant_type: "password",
      service: SERVICE,
      username: user.username,
      password: `${user.password}\u0000`,
    });
    expect(posted.status).toBe(401);
  });

  it.each([
    ["a NUL", "pw-with-\u0000-inside"],
    ["a lone surrogate", "pw-\ud800-abcdef"],
  ])("a password with %s cannot be set", async (_, password) => {
    const user = await createUser();
    const response = await call(`/api/v1/superuser/users/${user.username}`, {
      method: "PUT",
      auth: adminAuth(),
      json: { password },
    });
    expect(response.status).toBe(400);
    const rpc = await json(
      await call("/_admin/api", {
        method: "POST",
        json: {
          id: 1,
          api_key: (await keyOf({ ...ADMIN, auth: adminAuth() })).apiKey,
          method: "update_user",
          args: { userid: user.username, password },
        },
      }),
      200,
    );
    expect(rpc.error).toMatch(/password/);
  });
});
