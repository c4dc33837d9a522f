import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { generateSecret } from "../../src/crypto/secrets";
import { ADMIN, adminAuth, basic, bearer, call, createUser, json, type TestUser } from "../helpers";
import { accessToken, formPost, introspect, keyOf, refreshToken, registryToken, SERVICE } from "./support";

let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  alice = await createUser();
  bob = await createUser();
});

const active = async (auth: string | undefined, token: string) => json(await introspect(auth, token), 200);

describe("POST /oauth/introspect: the caller", () => {
  it("must authenticate: 401 invalid_client with a challenge", async () => {
    const { apiKey } = await keyOf(alice);
    const response = await introspect(undefined, apiKey);
    expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(await json(response, 401)).toEqual({ error: "invalid_client", error_description: expect.any(String) });
  });

  it.each([
    ["a wrong password", () => basic(alice.username, "wrong-password")],
    ["an unknown API key", () => bearer(generateSecret("zak"))],
    ["a malformed bearer", () => "Bearer zak_nope"],
    ["a registry token (it logs in only at /v2/auth)", () => "registry-token"],
  ])("with %s is an invalid_client", async (_, auth) => {
    let header = auth();
    if (header === "registry-token") {
      const robot = await registryToken();
      header = basic(robot.name, robot.password);
    }
    const { apiKey } = await keyOf(alice);
    expect((await json(await introspect(header, apiKey), 401)).error).toBe("invalid_client");
  });
});

describe("POST /oauth/introspect: bad input", () => {
  it.each([
    ["no token", {}, 400],
    ["an empty token", { token: "" }, 400],
    ["a repeated token", { token: ["a", "b"] }, 400],
    ["a token over 4 KiB", { token: "x".repeat(4097) }, 400],
  ] as const)("%s → %i invalid_request", async (_, fields, status) => {
    const body = await json(await formPost("/oauth/introspect", fields as Record<string, string>, alice.auth), status);
    expect(body.error).toBe("invalid_request");
  });

  it("refuses JSON (415, invalid_request) and oversize bodies (413)", async () => {
    const asJson = await call("/oauth/introspect", { method: "POST", auth: alice.auth, json: { token: "x" } });
    expect((await json(asJson, 415)).error).toBe("invalid_request");
    const big = await formPost("/oauth/introspect", { token: "x", pad: "p".repeat(9000) }, alice.auth);
    expect((await json(big, 413)).error).toBe("invalid_request");
  });

  it("ignores unknown parameters and hints (RFC 6749 §3.1)", async () => {
    const { apiKey } = await keyOf(alice);
    const response = await formPost("/oauth/introspect", { token: apiKey, token_type_hint: "nonsense", extra: "1" }, alice.auth);
    expect((await json(response, 200)).active).toBe(true);
  });
});

describe("POST /oauth/introspect: active tokens", () => {
  it("describes an API key: type, owner, scope of the user's rights, iat, no exp when it never expires", async () => {
    const key = await keyOf(alice);
    const body = await active(alice.auth, key.apiKey);
    expect(body).toEqual({
      active: true,
      token_type: "api_key",
      username: alice.username,
      sub: alice.username,
      scope: `repository:${alice.username}/*:*`,
      iat: expect.any(Number),
      iss: "keyward",
      jti: key.uuid,
    });
    expect(Math.abs(body.iat - Date.now() / 1000)).toBeLessThan(60);
  });

  it("gives a scoped, expiring key its scopes and exp, whatever hint is sent", async () => {
    const expirationDate = new Date(Date.now() + 3_600_000).toISOString();
    const key = await keyOf(alice, { label: "scoped", scopes: [`${alice.username}/a`], expirationDate });
    const body = await json(await introspect(alice.auth, key.apiKey, { token_type_hint: "refresh_token" }), 200);
    expect(body).toMatchObject({ active: true, token_type: "api_key", scope: `repository:${alice.username}/a:*` });
    expect(body.exp).toBe(Math.floor(new Date(expirationDate).getTime() / 1000));
  });

  it("lists a user's grants in the scope of an unscoped key", async () => {
    const user = await createUser();
    await json(
      await call(`/api/v1/superuser/users/${user.username}/permissions`, {
        method: "PUT",
        auth: adminAuth(),
        json: { repository: "team/*", role: "read" },
      }),
      200,
    );
    const key = await keyOf(user);
    expect((await active(user.auth, key.apiKey)).scope).toBe(`repository:${user.username}/*:* repository:team/*:pull`);
  });

  it("describes a registry token to a superuser: its name as sub, its service as aud, its scopes", async () => {
    const robot = await registryToken();
    expect(await active(adminAuth(), robot.password)).toEqual({
      active: true,
      token_type: "registry_token",
      username: ADMIN.username,
      sub: robot.name,
      scope: "repository:ci/*:pull,push",
      iat: expect.any(Number),
      iss: "keyward",
      aud: robot.service,
      jti: robot.tokenId,
    });
  });

  it("describes a refresh token with its client_id, service and its parent key's scopes", async () => {
    const key = await keyOf(alice, { label: "parent", scopes: [`${alice.username}/x`] });
    const token = await refreshToken(alice.username, key.apiKey, "ci-client");
    const body = await active(alice.auth, token);
    expect(body).toMatchObject({
      active: true,
      token_type: "refresh_token",
      username: alice.username,
      sub: alice.username,
      scope: `repository:${alice.username}/x:*`,
      client_id: "ci-client",
      aud: SERVICE,
      exp: expect.any(Number),
    });
  });

  it("verifies an access token (JWT) by keyward's keys and reports its claims", async () => {
    const jwt = await accessToken(alice, `repository:${alice.username}/app:pull,push`);
    const body = await active(alice.auth, jwt);
    expect(body).toMatchObject({
      active: true,
      token_type: "access_token",
      username: alice.username,
      sub: alice.username,
      scope: `repository:${alice.username}/app:pull,push`,
      iss: "keyward",
      aud: SERVICE,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(body.exp - body.iat).toBe(300);
  });
});

describe("POST /oauth/introspect: exactly {active: false}", () => {
  const inactive = async (auth: string, token: string) => expect(await active(auth, token)).toEqual({ active: false });

  it.each([
    ["an unknown well-formed secret", () => generateSecret("zak")],
    ["a malformed secret", () => "zak_not-a-secret"],
    ["a password-looking string", () => "hunter2"],
    ["an unknown refresh token", () => generateSecret("krf")],
    ["a forged JWT", () => "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl"],
  ])("for %s", async (_, token) => inactive(adminAuth(), token()));

  it("for an expired key, a revoked key, and a disabled user's key", async () => {
    const user = await createUser();
    const expired = await keyOf(user, { label: "soon", expirationDate: new Date(Date.now() + 3_600_000).toISOString() });
    await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, expired.uuid)
      .run();
    await inactive(adminAuth(), expired.apiKey);
    const revoked = await keyOf(user);
    await json(await call(`/v2/_zot/ext/apikey?id=${revoked.uuid}`, { method: "DELETE", auth: user.auth }), 200);
    await inactive(adminAuth(), revoked.apiKey);
    const live = await keyOf(user);
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, { method: "PUT", auth: adminAuth(), json: { enabled: false } }),
      200,
    );
    await inactive(adminAuth(), live.apiKey);
  });

  it("for a disabled registry token and a refresh token whose parent key was revoked", async () => {
    const robot = await registryToken();
    await json(
      await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, {
        method: "PATCH",
        auth: adminAuth(),
        json: { status: "disabled" },
      }),
      200,
    );
    await inactive(adminAuth(), robot.password);
    const key = await keyOf(alice);
    const token = await refreshToken(alice.username, key.apiKey);
    await json(await call(`/v2/_zot/ext/apikey?id=${key.uuid}`, { method: "DELETE", auth: alice.auth }), 200);
    await inactive(alice.auth, token);
  });

  it("for a JWT whose signature was tampered with", async () => {
    const jwt = await accessToken(alice, `repository:${alice.username}/app:pull`);
    const [h, p, s] = jwt.split(".");
    const flipped = s![0] === "A" ? `B${s!.slice(1)}` : `A${s!.slice(1)}`;
    await inactive(alice.auth, `${h}.${p}.${flipped}`);
    // The same payload claiming another subject, with the original signature.
    const claims = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    const forged = btoa(JSON.stringify({ ...claims, sub: "admin" }))
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_");
    await inactive(adminAuth(), `${h}.${forged}.${s}`);
  });

  it("for someone else's token when the caller is no superuser", async () => {
    const key = await keyOf(alice);
    await inactive(bob.auth, key.apiKey);
    await inactive(bob.auth, await accessToken(alice, `repository:${alice.username}/app:pull`));
    // Bob's own still answers.
    expect((await active(bob.auth, (await keyOf(bob)).apiKey)).active).toBe(true);
  });

  it("for someone else's token when a superuser asks with a narrowed key", async () => {
    const admin = { ...ADMIN, auth: adminAuth() };
    const narrowed = await keyOf(admin, { label: "narrow", scopes: [`${ADMIN.username}/x`] });
    const key = await keyOf(alice);
    await inactive(narrowed.auth, key.apiKey);
    expect((await active(adminAuth(), key.apiKey)).active).toBe(true);
  });
});

describe("POST /oauth/introspect has no side effects", () => {
  it("does not count a failure or touch lastUsed for the token it looks at", async () => {
    const key = await keyOf(alice);
    const before = await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(key.uuid).first();
    const failures = () =>
      env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE kind = 'auth.failed'").first<{ n: number }>();
    const failed = (await failures())!.n;
    await active(alice.auth, key.apiKey);
    await active(alice.auth, generateSecret("zak"));
    expect(await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(key.uuid).first()).toEqual(before);
    expect((await failures())!.n).toBe(failed);
  });
});
