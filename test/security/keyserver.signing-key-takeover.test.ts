import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { createDb } from "../../src/db/client";
import { signJwt } from "../../src/services/signingKeys";
import { adminAuth, call, json, uniqueIp } from "../helpers";
import { makeKeyPair } from "../keys-helpers";

/*
 * Defect 1 (critical): an anonymous GET /v2/auth?service=keyward returned a JWT signed by
 * keyward's key with iss = aud = keyward; the keyserver took it as "signed by an approved key
 * of service keyward" and let the caller publish its own key in keyward's JWKS (PUT) or
 * delete keyward's signing keys (DELETE).
 */

const keywardKids = async () => (await json(await call("/.well-known/jwks.json"), 200)).keys.map((k: any) => k.kid) as string[];

describe("an attacker going after keyward's signing keys", () => {
  it("cannot get a token for keyward's own audience from /v2/auth", async () => {
    for (const service of ["keyward"]) {
      const res = await call(`/v2/auth?service=${service}`, { headers: { "cf-connecting-ip": uniqueIp() } });
      const body = await json(res, 400);
      expect(body.errors[0].message).toContain("keyward itself");
    }
  });

  it("cannot rotate or delete keyward's key with a token keyward signed for its own audience (the old exploit)", async () => {
    const before = await keywardKids();
    // Exactly what GET /v2/auth?service=keyward used to hand out to anyone: signed by
    // keyward's current key, iss = aud = keyward, typ JWT, a fresh jti.
    const db = createDb(env.DB);
    const config = await loadConfig(env);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: config.issuer,
      aud: config.audience,
      sub: "",
      iat: now,
      nbf: now,
      exp: now + 300,
      jti: crypto.randomUUID(),
      access: [],
    };
    const { token } = await signJwt(db, config, claims, 300, "JWT");
    const attacker = await makeKeyPair("ES256");
    const put = await call(`/keys/services/keyward/keys/${attacker.kid}`, {
      method: "PUT",
      json: attacker.jwk,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(put.status).toBe(403);
    expect((await put.json<any>()).error.message).toContain("managed by keyward alone");
    const del = await call(`/keys/services/keyward/keys/${before[0]}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(403);
    expect(await keywardKids()).toEqual(before);
  });

  it("cannot use today's access tokens (typ at+jwt) at keyward's keyserver either", async () => {
    const { token } = await json(
      await call("/v2/auth?service=registry.local", { headers: { "cf-connecting-ip": uniqueIp() } }),
      200,
    );
    expect(decodeProtectedHeader(token).typ).toBe("at+jwt");
    const attacker = await makeKeyPair("ES256");
    const put = await call(`/keys/services/keyward/keys/${attacker.kid}`, {
      method: "PUT",
      json: attacker.jwk,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(put.status).toBe(403);
  });

  it("cannot use keyward's access token at the keyserver for any other service either", async () => {
    const { token } = await json(
      await call("/v2/auth?service=registry.local", { headers: { "cf-connecting-ip": uniqueIp() } }),
      200,
    );
    const attacker = await makeKeyPair("ES256");
    const res = await call(`/keys/services/registry.local/keys/${attacker.kid}`, {
      method: "PUT",
      json: attacker.jwk,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(403);
  });

  it.each([
    ["PUT", (kid: string) => `/api/v1/superuser/keys/${kid}`, { name: "mine now" }],
    ["DELETE", (kid: string) => `/api/v1/superuser/keys/${kid}`, undefined],
    ["POST", (kid: string) => `/api/v1/superuser/approvedkeys/${kid}`, { notes: "x" }],
  ] as const)("a superuser cannot %s keyward's own signing key through the key API (403)", async (method, path, body) => {
    const [kid] = await keywardKids();
    const res = await call(path(kid!), { method, auth: adminAuth(), json: body });
    expect(res.status).toBe(403);
    expect((await res.json<any>()).error.message).toContain("managed by keyward alone");
    expect(await keywardKids()).toContain(kid);
  });

  it("cannot create a service key or a registry named like keyward", async () => {
    const res = await call("/api/v1/superuser/keys", {
      method: "POST",
      auth: adminAuth(),
      json: { service: "keyward", expiration: null },
    });
    expect(res.status).toBe(403);
    const reg = await call("/registries", {
      method: "POST",
      auth: adminAuth(),
      json: { properties: { name: "sneaky", hostname: "keyward", location: "de/fra" } },
    });
    expect(reg.status).toBe(400);
  });

  it("reading the JWKS and certs.pem writes nothing, even when a rotation is due", async () => {
    // Make the current key look due for rotation: a read used to create one.
    await env.DB.prepare("UPDATE service_keys SET expires_at = ? WHERE service = 'keyward'")
      .bind(Date.now() + 86_400_000)
      .run();
    const count = async () =>
      (await env.DB.prepare(
        "SELECT (SELECT count(*) FROM service_keys) + (SELECT count(*) FROM token_authorities) + (SELECT count(*) FROM audit_log) AS n",
      ).first<{ n: number }>())!.n;
    const before = await count();
    await json(await call("/.well-known/jwks.json"), 200);
    await json(await call("/keys/services/keyward/keys"), 200);
    const pem = await call("/v2/auth/certs.pem");
    expect(pem.status).toBe(200);
    expect(await pem.text()).toContain("BEGIN CERTIFICATE");
    expect(await count()).toBe(before);
  });
});
