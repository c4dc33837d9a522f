import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { adminAuth, basic, call, createKey, createUser, json, uniqueIp, uniqueName } from "../helpers";
import { keyserverJwt, makeKeyPair } from "../keys-helpers";
import { postToken, registryWithToken } from "./support";

/*
 * Findings of the adversarial pass (README + running server only), each as the attacker
 * tried it. Each failed before its fix.
 */

describe("finding 1: a scoped key is no key to the installation", () => {
  it("a superuser's key narrowed to admin/app cannot create a superuser (403), nor reach any superuser route", async () => {
    const admin = { username: env.KEYWARD_ADMIN_USER!, auth: adminAuth() };
    const { apiKey } = await createKey(admin as any, { label: "scoped-admin", scopes: [`${admin.username}/app`] });
    const auth = basic(admin.username, apiKey);
    const evil = uniqueName("evil");
    const res = await call("/api/v1/superuser/users/", {
      method: "POST",
      auth,
      json: { username: evil, password: "evil-password-1", superuser: true },
    });
    expect(res.status).toBe(403);
    expect((await res.json<any>()).error.message).toContain("narrowed");
    for (const [method, path] of [
      ["GET", "/api/v1/superuser/users/"],
      ["GET", "/api/v1/superuser/logs"],
      ["POST", "/api/v1/superuser/signing-keys/rotate"],
      ["GET", "/api/v1/superuser/keys"],
    ] as const) {
      expect((await call(path, { method, auth })).status, `${method} ${path}`).toBe(403);
    }
    // … and manages no registry (a token it made would carry the owner's full rights).
    const reg = await call("/registries", {
      method: "POST",
      auth,
      json: { properties: { name: uniqueName("r").replace(/[^a-z0-9-]/g, "") } },
    });
    expect(reg.status).toBe(403);
  });

  it("a user's scoped key cannot revoke the user's wider keys (403), only keys within its scopes", async () => {
    const alice = await createUser();
    const full = await createKey(alice, { label: "full" });
    const scoped = await createKey(alice, { label: "scoped", scopes: [`${alice.username}/app`] });
    const inner = await createKey(alice, { label: "inner", scopes: [`${alice.username}/app`] });
    const auth = basic(alice.username, scoped.apiKey);
    expect((await call(`/v2/_zot/ext/apikey?id=${full.uuid}`, { method: "DELETE", auth })).status).toBe(403);
    expect((await call(`/v2/_zot/ext/apikey?id=${inner.uuid}`, { method: "DELETE", auth })).status).toBe(200);
    expect((await call("/api/v1/user/", { auth: basic(alice.username, full.apiKey) })).status).toBe(200);
  });
});

describe("finding 2: a registry token carries the rights of whoever last set it", () => {
  it("a demoted owner who replaces a superuser's token gets only the owner's rights; the hostname is a superuser's", async () => {
    const ops = await createUser({ superuser: true });
    const name = uniqueName("reg").replace(/[^a-z0-9-]/g, "");
    const registry = await json(
      await call("/registries", { method: "POST", auth: ops.auth, json: { properties: { name } } }),
      201,
    );
    const service = registry.properties.hostname;
    const tokenName = `t${Math.random().toString(36).slice(2, 9)}`;
    const scopes = [{ type: "repository", name: "*", actions: ["pull", "push", "delete"] }];
    const made = await json(
      await call(`/registries/${registry.id}/tokens`, {
        method: "POST",
        auth: adminAuth(),
        json: { properties: { name: tokenName, scopes } },
      }),
      201,
    );
    await json(
      await call(`/api/v1/superuser/users/${ops.username}`, { method: "PUT", auth: adminAuth(), json: { superuser: false } }),
      200,
    );
    const replaced = await json(
      await call(`/registries/${registry.id}/tokens/${made.id}`, {
        method: "PUT",
        auth: ops.auth,
        json: { properties: { name: tokenName, scopes } },
      }),
      200,
    );
    const victim = await createUser();
    const res = await call(`/v2/auth?service=${service}&scope=repository:${victim.username}/app:pull,push,delete`, {
      auth: basic(tokenName, replaced.properties.credentials.password),
      headers: { "cf-connecting-ip": uniqueIp() },
    });
    expect((decodeJwt((await json(res, 200)).token).access as any)[0].actions).toEqual([]);
    const moved = await call(`/registries/${registry.id}`, {
      method: "PATCH",
      auth: ops.auth,
      json: { properties: { hostname: "registry.local" } },
    });
    expect(moved.status).toBe(403);
    expect((await moved.json<any>()).httpStatus).toBe(403);
  });

  it("a PATCH that widens a superuser's pull-only token gives it the patcher's rights, not the creator's", async () => {
    const ops = await createUser({ superuser: true });
    const name = uniqueName("reg").replace(/[^a-z0-9-]/g, "");
    const registry = await json(
      await call("/registries", { method: "POST", auth: ops.auth, json: { properties: { name } } }),
      201,
    );
    const tokenName = `t${Math.random().toString(36).slice(2, 9)}`;
    const made = await json(
      await call(`/registries/${registry.id}/tokens`, {
        method: "POST",
        auth: adminAuth(),
        json: { properties: { name: tokenName, scopes: [{ type: "repository", name: "*", actions: ["pull"] }] } },
      }),
      201,
    );
    await json(
      await call(`/api/v1/superuser/users/${ops.username}`, { method: "PUT", auth: adminAuth(), json: { superuser: false } }),
      200,
    );
    await json(
      await call(`/registries/${registry.id}/tokens/${made.id}`, {
        method: "PATCH",
        auth: ops.auth,
        json: { scopes: [{ type: "repository", name: "*", actions: ["pull", "push", "delete"] }] },
      }),
      200,
    );
    const victim = await createUser();
    const res = await call(`/v2/auth?service=${registry.properties.hostname}&scope=repository:${victim.username}/app:pull,push`, {
      auth: basic(tokenName, made.properties.credentials.password),
      headers: { "cf-connecting-ip": uniqueIp() },
    });
    expect((decodeJwt((await json(res, 200)).token).access as any)[0].actions).toEqual([]);
  });
});

describe("finding 3: a key made with a key dies with it", () => {
  it("revoking the parent revokes the child", async () => {
    const alice = await createUser();
    const parent = await createKey(alice, { label: "parent", scopes: [`${alice.username}/app`, `${alice.username}/lib*`] });
    const child = await createKey(
      { ...alice, auth: basic(alice.username, parent.apiKey) },
      { label: "child", scopes: [`${alice.username}/app`] },
    );
    expect(child.parentId).toBe(parent.uuid);
    expect((await call(`/v2/_zot/ext/apikey?id=${parent.uuid}`, { method: "DELETE", auth: alice.auth })).status).toBe(200);
    expect((await call("/api/v1/user/", { auth: basic(alice.username, child.apiKey) })).status).toBe(401);
  });
});

describe("finding 6: the keyserver refuses a JWK that is no valid key, on rotation too", () => {
  it("a point off the curve, PUT as a rotation signed by an approved key, is a 400 and is not published", async () => {
    const service = uniqueName("svc");
    const signer = await makeKeyPair("ES256");
    const put = (kid: string, jwk: unknown, token: string) =>
      call(`/keys/services/${service}/keys/${kid}`, { method: "PUT", json: jwk, headers: { authorization: `Bearer ${token}` } });
    expect((await put(signer.kid, signer.jwk, await keyserverJwt(signer, service))).status).toBe(202);
    await json(await call(`/api/v1/superuser/approvedkeys/${signer.kid}`, { method: "POST", auth: adminAuth(), json: {} }), 201);
    const bogus = {
      kty: "EC",
      crv: "P-256",
      x: "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
      y: "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI",
    };
    const { calculateJwkThumbprint } = await import("jose");
    const kid = await calculateJwkThumbprint(bogus as any, "sha256");
    const res = await put(kid, bogus, await keyserverJwt(signer, service));
    expect(res.status).toBe(400);
    const published = (await json(await call(`/keys/services/${service}/keys`), 200)).keys.map((k: any) => k.kid);
    expect(published).toEqual([signer.kid]);
  });
});

describe("finding 7: a disable ends refresh tokens, it does not pause them", () => {
  it("a user disabled and enabled again has no working refresh token", async () => {
    const carl = await createUser();
    const { refresh_token } = await json(
      await postToken({
        grant_type: "password",
        username: carl.username,
        password: carl.password,
        service: "registry.local",
        access_type: "offline",
      }),
      200,
    );
    for (const enabled of [false, true]) {
      await json(
        await call(`/api/v1/superuser/users/${carl.username}`, { method: "PUT", auth: adminAuth(), json: { enabled } }),
        200,
      );
    }
    expect((await postToken({ grant_type: "refresh_token", refresh_token, service: "registry.local" })).status).toBe(401);
  });

  it("a registry token disabled and enabled again has no working refresh token", async () => {
    const robot = await registryWithToken([{ type: "repository", name: "ci/*", actions: ["pull"] }]);
    const { refresh_token } = await json(
      await postToken({
        grant_type: "password",
        username: robot.name,
        password: robot.password,
        service: robot.service,
        access_type: "offline",
      }),
      200,
    );
    for (const status of ["disabled", "enabled"]) {
      await json(
        await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, {
          method: "PATCH",
          auth: adminAuth(),
          json: { status },
        }),
        200,
      );
    }
    expect((await postToken({ grant_type: "refresh_token", refresh_token, service: robot.service })).status).toBe(401);
  });
});

describe("finding 9: POST /v2/auth takes repeated scope fields, as GET does", () => {
  it("grants both", async () => {
    const alice = await createUser();
    const body = new URLSearchParams({
      grant_type: "password",
      username: alice.username,
      password: alice.password,
      service: "registry.local",
    });
    body.append("scope", `repository:${alice.username}/a:pull`);
    body.append("scope", `repository:${alice.username}/b:pull`);
    const res = await call("/v2/auth", {
      method: "POST",
      body: body.toString(),
      headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": uniqueIp() },
    });
    const access = decodeJwt((await json(res, 200)).token).access as any[];
    expect(access.map((e) => e.actions)).toEqual([["pull"], ["pull"]]);
  });
});

describe("finding 10: labels are printable text", () => {
  it.each([
    ["a NUL", "a\u0000b"],
    ["an unpaired surrogate", "a\ud800b"],
    ["a bidi override", "a\u202eb"],
  ])("refuses %s with 400 and writes nothing", async (_name, label) => {
    const alice = await createUser();
    const res = await call("/v2/_zot/ext/apikey", { method: "POST", auth: alice.auth, json: { label } });
    expect(res.status).toBe(400);
    expect((await json(await call("/v2/_zot/ext/apikey", { auth: alice.auth }), 200)).apiKeys).toEqual([]);
  });

  it("takes ordinary Unicode", async () => {
    const alice = await createUser();
    expect(
      (await call("/v2/_zot/ext/apikey", { method: "POST", auth: alice.auth, json: { label: "CI ☃ — ünïcödé 😀" } })).status,
    ).toBe(201);
  });
});

describe("finding 11: audit entries name the credential that acted", () => {
  it("an API key's actions and a refresh token's minting carry `via`", async () => {
    const alice = await createUser();
    const key = await createKey(alice, { label: "actor" });
    const child = await createKey({ ...alice, auth: basic(alice.username, key.apiKey) }, { label: "child" });
    await json(
      await postToken({
        grant_type: "password",
        username: alice.username,
        password: key.apiKey,
        service: "registry.local",
        access_type: "offline",
      }),
      200,
    );
    const rows = await env.DB.prepare(
      "SELECT kind, actor_name AS actor, json_extract(metadata, '$.via') AS via FROM audit_log WHERE kind IN ('api_key.create', 'refresh_token.create') AND subject_user_id = (SELECT id FROM users WHERE username = ?) ORDER BY id",
    )
      .bind(alice.username)
      .all<{ kind: string; actor: string; via: string | null }>();
    expect(rows.results).toEqual([
      { kind: "api_key.create", actor: alice.username, via: "password" },
      { kind: "api_key.create", actor: alice.username, via: `api_key:${key.uuid}` },
      { kind: "refresh_token.create", actor: alice.username, via: `api_key:${key.uuid}` },
    ]);
    expect(child.parentId).toBe(key.uuid);
  });
});
