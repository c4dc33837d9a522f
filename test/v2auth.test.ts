import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { adminAuth, basic, call, createKey, createUser, json, type TestUser, uniqueIp } from "./helpers";

const SERVICE = "registry.local";
let alice: TestUser;

beforeAll(async () => {
  alice = await createUser();
});

/** The branch a refused credential reached, as the audit log records it for that client. */
async function lastFailureReason(ip: string): Promise<string | undefined> {
  const row = await env.DB.prepare(
    "SELECT metadata FROM audit_log WHERE kind = 'auth.failed' AND ip = ? ORDER BY id DESC LIMIT 1",
  )
    .bind(ip)
    .first<{ metadata: string }>();
  return row ? JSON.parse(row.metadata).reason : undefined;
}

function tokenUrl(scopes: string[], extra = "") {
  const query = scopes.map((s) => `scope=${encodeURIComponent(s)}`).join("&");
  return `/v2/auth?service=${SERVICE}${query ? `&${query}` : ""}${extra}`;
}

async function access(auth: string | undefined, scopes: string[]) {
  const body = await json(await call(tokenUrl(scopes), { auth }), 200);
  return decodeJwt(body.token).access as { type: string; name: string; actions: string[] }[];
}

describe("GET /v2/auth", () => {
  it("issues a signed token with the Docker fields and claims", async () => {
    const response = await call(tokenUrl([`repository:${alice.username}/app:pull,push`]), { auth: alice.auth });
    const body = await json(response, 200);
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "issued_at", "token"]);
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    expect(Number.isInteger(body.expires_in)).toBe(true);
    expect(body.issued_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    const header = decodeProtectedHeader(body.token);
    // at+jwt (RFC 9068): a keyward access token, which no keyward endpoint accepts as a credential.
    expect(header).toMatchObject({ alg: "ES256", typ: "at+jwt" });
    expect(header.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(header.x5c).toHaveLength(1);
    const jwks = await json(await call("/.well-known/jwks.json"), 200);
    const { payload } = await jwtVerify(body.token, createLocalJWKSet(jwks), { issuer: "keyward", audience: SERVICE });
    expect(typeof payload.aud).toBe("string");
    expect(payload.sub).toBe(alice.username);
    for (const claim of ["exp", "nbf", "iat"] as const) expect(Number.isInteger(payload[claim])).toBe(true);
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.access).toEqual([{ type: "repository", name: `${alice.username}/app`, actions: ["pull", "push"] }]);
  });

  it("drops actions the caller lacks instead of refusing", async () => {
    const bob = await createUser();
    expect(await access(alice.auth, [`repository:${bob.username}/app:pull,push`])).toEqual([
      { type: "repository", name: `${bob.username}/app`, actions: [] },
    ]);
  });

  it("follows grants: read gives pull, write pull+push, admin everything", async () => {
    const user = await createUser();
    const grant = (repository: string, role: string) =>
      call(`/api/v1/superuser/users/${user.username}/permissions`, {
        method: "PUT",
        auth: adminAuth(),
        json: { repository, role },
      });
    await json(await grant("shared/read-only", "read"), 200);
    await json(await grant("team/*", "write"), 200);
    await json(await grant("ops/tool", "admin"), 200);
    const granted = await access(user.auth, [
      "repository:shared/read-only:pull,push,delete",
      "repository:team/a/b:pull,push,delete",
      "repository:ops/tool:pull,push,delete,*",
      "repository:elsewhere/x:pull",
    ]);
    expect(granted.map((e) => e.actions)).toEqual([["pull"], ["pull", "push"], ["pull", "push", "delete", "*"], []]);
    const listed = await json(await call(`/api/v1/superuser/users/${user.username}/permissions`, { auth: adminAuth() }), 200);
    expect(listed.permissions.map((p: any) => p.repository)).toEqual(["ops/tool", "shared/read-only", "team/*"]);
    const removed = await call(`/api/v1/superuser/users/${user.username}/permissions?repository=team/*`, {
      method: "DELETE",
      auth: adminAuth(),
    });
    expect(removed.status).toBe(204);
    expect((await access(user.auth, ["repository:team/a:push"]))[0]!.actions).toEqual([]);
  });

  it("gives anonymous callers pull on public repositories only", async () => {
    await json(
      await call("/api/v1/superuser/public-repositories", {
        method: "POST",
        auth: adminAuth(),
        json: { repository: "library/*" },
      }),
      200,
    );
    const granted = await access(undefined, ["repository:library/alpine:pull,push", `repository:${alice.username}/app:pull`]);
    expect(granted.map((e) => e.actions)).toEqual([["pull"], []]);
    const body = await json(await call(tokenUrl(["repository:library/alpine:pull"])), 200);
    expect(decodeJwt(body.token).sub).toBe("");
    const privateAgain = await call("/api/v1/superuser/public-repositories?repository=library/*", {
      method: "DELETE",
      auth: adminAuth(),
    });
    expect(privateAgain.status).toBe(204);
    expect((await access(undefined, ["repository:library/alpine:pull"]))[0]!.actions).toEqual([]);
  });

  it("lets API-key scopes narrow what the key can get", async () => {
    const { apiKey } = await createKey(alice, { label: "narrow", scopes: [`${alice.username}/ci-*`] });
    const granted = await access(basic(alice.username, apiKey), [
      `repository:${alice.username}/ci-app:pull,push`,
      `repository:${alice.username}/other:pull`,
    ]);
    expect(granted.map((e) => e.actions)).toEqual([["pull", "push"], []]);
  });

  it("gives the catalog to superusers only", async () => {
    expect((await access(adminAuth(), ["registry:catalog:*"]))[0]!.actions).toEqual(["*"]);
    expect((await access(alice.auth, ["registry:catalog:*"]))[0]!.actions).toEqual([]);
  });

  it("refuses a registry host with a port in a scope: names have no colons (400)", async () => {
    const res = await call(tokenUrl([`repository:registry.local:5000/${alice.username}/app:pull`]), { auth: alice.auth });
    expect(res.status).toBe(400);
  });

  it("merges repeated and space-separated scopes", async () => {
    const granted = await access(alice.auth, [`repository:${alice.username}/a:pull repository:${alice.username}/a:push`]);
    expect(granted).toEqual([{ type: "repository", name: `${alice.username}/a`, actions: ["pull", "push"] }]);
  });

  it("issues a refresh token with offline_token=true", async () => {
    const body = await json(await call(`${tokenUrl([])}&offline_token=true&client_id=docker`, { auth: alice.auth }), 200);
    expect(body.refresh_token).toMatch(/^krf_[0-9A-Za-z]{38}$/);
    const rows = JSON.stringify((await env.DB.prepare("SELECT * FROM refresh_tokens").all()).results);
    expect(rows).not.toContain(body.refresh_token);
  });

  it.each([
    ["a scope without actions", "repository:foo"],
    ["an unknown action", "repository:foo/bar:pull,fly"],
    ["an unknown resource type", "image:foo:pull"],
    ["an upper-case repository", "repository:Foo/Bar:pull"],
    ["a registry scope other than the catalog", "registry:everything:*"],
  ])("answers %s with 400 in Docker's error format", async (_name, scope) => {
    const body = await json(await call(tokenUrl([scope]), { auth: alice.auth }), 400);
    expect(body.errors[0].code).toBe("INVALID_REQUEST");
    expect(body.errors[0].message).toContain("scope");
  });

  it.each([
    ["a wrong password", () => basic(alice.username, "wrong-password")],
    ["an unknown user", () => basic("nobody-at-all", "whatever-pw")],
    ["a mistyped API key (checksum fails, no read)", () => basic(alice.username, `zak_${"A".repeat(38)}`)],
  ])("answers %s with 401 in Docker's error format", async (_name, auth) => {
    const response = await call(tokenUrl(["repository:x/y:pull"]), { auth: auth(), headers: { "cf-connecting-ip": uniqueIp() } });
    const body = await json(response, 401);
    expect(body.errors[0].code).toBe("UNAUTHORIZED");
    expect(response.headers.get("www-authenticate")).toContain("Basic");
  });

  it("refuses a revoked API key: well-formed, checksum valid, no longer in D1", async () => {
    const { apiKey, uuid } = await createKey(alice, { label: "to-revoke" });
    await json(await call(`/v2/_zot/ext/apikey?id=${uuid}`, { method: "DELETE", auth: alice.auth }), 200);
    const ip = uniqueIp();
    const body = await json(
      await call(tokenUrl([]), { auth: basic(alice.username, apiKey), headers: { "cf-connecting-ip": ip } }),
      401,
    );
    expect(body.errors[0].code).toBe("UNAUTHORIZED");
    // The branch it reached: a lookup that found nothing (not the checksum, which costs no read).
    expect(await lastFailureReason(ip)).toBe("unknown");
  });

  it("refuses an account that is not the caller", async () => {
    await json(await call(`${tokenUrl([])}&account=someone-else`, { auth: alice.auth }), 401);
  });

  it("refuses a disabled user's key on the very next request", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    await json(await call(tokenUrl([]), { auth: basic(user.username, apiKey) }), 200);
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, { method: "PUT", auth: adminAuth(), json: { enabled: false } }),
      200,
    );
    await json(await call(tokenUrl([]), { auth: basic(user.username, apiKey) }), 401);
  });
});

describe("POST /v2/auth (OAuth2, as containerd sends it)", () => {
  const post = (fields: Record<string, string>) =>
    call("/v2/auth", {
      method: "POST",
      body: new URLSearchParams(fields).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": uniqueIp() },
    });

  it("grants with a password, issues a refresh token, and refreshes with it for the same service only", async () => {
    const first = await json(
      await post({
        grant_type: "password",
        username: alice.username,
        password: alice.password,
        service: SERVICE,
        scope: `repository:${alice.username}/app:pull`,
        client_id: "containerd",
        access_type: "offline",
      }),
      200,
    );
    expect(first.refresh_token).toMatch(/^krf_/);
    expect(decodeJwt(first.token).access).toEqual([{ type: "repository", name: `${alice.username}/app`, actions: ["pull"] }]);
    const refreshed = await json(
      await post({
        grant_type: "refresh_token",
        refresh_token: first.refresh_token,
        service: SERVICE,
        scope: `repository:${alice.username}/app:push`,
      }),
      200,
    );
    expect(decodeJwt(refreshed.token).sub).toBe(alice.username);
    expect(refreshed.refresh_token).toBe(first.refresh_token);
    await json(await post({ grant_type: "refresh_token", refresh_token: first.refresh_token, service: "other.registry" }), 401);
  });

  it("refuses an expired refresh token: found in D1, past its expiry", async () => {
    const first = await json(
      await post({
        grant_type: "password",
        username: alice.username,
        password: alice.password,
        service: SERVICE,
        access_type: "offline",
      }),
      200,
    );
    await env.DB.prepare("UPDATE refresh_tokens SET expires_at = ? WHERE user_id = (SELECT id FROM users WHERE username = ?)")
      .bind(Date.now() - 1000, alice.username)
      .run();
    const ip = uniqueIp();
    const res = await call("/v2/auth", {
      method: "POST",
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: first.refresh_token, service: SERVICE }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
    });
    const body = await json(res, 401);
    expect(body.errors[0].message).toBe("Invalid refresh token");
    expect(await lastFailureReason(ip)).toBe("expired");
  });

  it("accepts an API key as the password", async () => {
    const { apiKey } = await createKey(alice);
    await json(await post({ grant_type: "password", username: alice.username, password: apiKey, service: SERVICE }), 200);
  });

  it.each<[string, Record<string, string>, number]>([
    ["an unknown grant type", { grant_type: "client_credentials", service: SERVICE }, 400],
    ["a password grant without a password", { grant_type: "password", username: "x", service: SERVICE }, 400],
    ["a refresh grant without a token", { grant_type: "refresh_token", service: SERVICE }, 400],
    ["a malformed refresh token", { grant_type: "refresh_token", refresh_token: "krf_nope", service: SERVICE }, 401],
    [
      "a mistyped refresh token (checksum fails)",
      { grant_type: "refresh_token", refresh_token: `krf_${"B".repeat(38)}`, service: SERVICE },
      401,
    ],
    ["no service", { grant_type: "password", username: "x", password: "y" }, 400],
    ["bad scope syntax", { grant_type: "password", username: "x", password: "y", service: SERVICE, scope: "nope" }, 400],
  ])("answers %s with %i", async (_name, fields, status) => {
    const body = await json(await post(fields), status);
    expect(body.errors).toHaveLength(1);
  });
});

describe.each([
  {
    name: "grant with a bad role",
    method: "PUT",
    path: "/api/v1/superuser/users/USER/permissions",
    body: { repository: "a/b", role: "owner" },
    status: 400,
  },
  {
    name: "grant with a bad repository",
    method: "PUT",
    path: "/api/v1/superuser/users/USER/permissions",
    body: { repository: "A B", role: "read" },
    status: 400,
  },
  {
    name: "grant with an unknown field",
    method: "PUT",
    path: "/api/v1/superuser/users/USER/permissions",
    body: { repository: "a/b", role: "read", x: 1 },
    status: 400,
  },
  {
    name: "grant to an unknown user",
    method: "PUT",
    path: "/api/v1/superuser/users/ghost-user/permissions",
    body: { repository: "a/b", role: "read" },
    status: 404,
  },
  {
    name: "remove a grant that does not exist",
    method: "DELETE",
    path: "/api/v1/superuser/users/USER/permissions?repository=none/here",
    status: 404,
  },
  {
    name: "public with a bad repository",
    method: "POST",
    path: "/api/v1/superuser/public-repositories",
    body: { repository: "" },
    status: 400,
  },
  {
    name: "private for a repository that is not public",
    method: "DELETE",
    path: "/api/v1/superuser/public-repositories?repository=not/public",
    status: 404,
  },
])("permissions bad input: $name", ({ method, path, body, status }) => {
  it(`answers ${status}`, async () => {
    const response = await call(path.replace("USER", alice.username), { method, auth: adminAuth(), json: body });
    await json(response, status);
  });
});

describe("permissions API access", () => {
  it("is for superusers only", async () => {
    await json(await call(`/api/v1/superuser/users/${alice.username}/permissions`, { auth: alice.auth }), 403);
    await json(await call("/api/v1/superuser/public-repositories", { auth: alice.auth }), 403);
  });
});

describe("the /v2/auth hot path", () => {
  async function roundTrips(auth: string | undefined, scope: string) {
    const { countingD1 } = await import("./db-spy");
    const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
    const worker = (await import("../src/index")).default;
    const url = `https://keyward.test/v2/auth?service=${SERVICE}&scope=${encodeURIComponent(scope)}`;
    const headers: Record<string, string> = { "cf-connecting-ip": uniqueIp() };
    if (auth) headers.authorization = auth;
    // Warm: the signing key is cached per isolate, lastUsed has just been written.
    await call(url.replace("https://keyward.test", ""), { auth, headers });
    const spy = countingD1();
    const ctx = createExecutionContext();
    const response = await worker.fetch(new Request(url, { headers }), { ...env, DB: spy.db }, ctx);
    await waitOnExecutionContext(ctx);
    expect(response.status).toBe(200);
    return spy.roundTrips();
  }

  it("resolves an API key, its grants and the public repositories in one D1 round trip", async () => {
    const { apiKey } = await createKey(alice, { label: "hot" });
    expect(await roundTrips(basic(alice.username, apiKey), `repository:${alice.username}/app:pull`)).toBe(1);
  });

  it("serves an anonymous request in one D1 round trip", async () => {
    expect(await roundTrips(undefined, "repository:library/x:pull")).toBe(1);
  });
});
