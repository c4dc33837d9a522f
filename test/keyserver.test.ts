import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminAuth, call, json, uniqueName } from "./helpers";
import { hmacConfusionJwt, keyserverJwt, makeKeyPair, type ServiceKeyPair, unsignedJwt } from "./keys-helpers";

const otherKey = await makeKeyPair("ES256");

const keyPath = (service: string, kid: string) => `/keys/services/${service}/keys/${kid}`;

function put(service: string, key: ServiceKeyPair, token: string, query = "", jwk: unknown = key.jwk) {
  return call(`${keyPath(service, key.kid)}${query}`, {
    method: "PUT",
    json: jwk,
    headers: { authorization: `Bearer ${token}` },
  });
}

async function register(service: string, key: ServiceKeyPair) {
  const response = await put(service, key, await keyserverJwt(key, service));
  expect(response.status).toBe(202);
}

async function approve(kid: string) {
  const response = await call(`/api/v1/superuser/approvedkeys/${kid}`, {
    method: "POST",
    auth: adminAuth(),
    json: { notes: "ok" },
  });
  expect(response.status).toBe(201);
}

async function jwksKids(service: string): Promise<string[]> {
  return (await json(await call(`/keys/services/${service}/keys`), 200)).keys.map((k: any) => k.kid);
}

describe("keyserver registration and approval", () => {
  it("stores a self-registered key unapproved (202): 409 on GET, absent from the JWKS, until approved", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair("ES256");
    await register(service, key);
    await json(await call(keyPath(service, key.kid)), 409);
    expect(await jwksKids(service)).toEqual([]);

    await approve(key.kid);
    const response = await call(keyPath(service, key.kid));
    const jwk = await json(response, 200);
    expect(jwk).toMatchObject({ kid: key.kid, kty: "EC", crv: "P-256", x: key.jwk.x, use: "sig", alg: "ES256" });
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get("cache-control")!)![1]);
    expect(maxAge).toBeLessThanOrEqual(86_400);
    expect(await jwksKids(service)).toEqual([key.kid]);
  });

  it("bounds Cache-Control by the time to expiry, and answers 403 once expired", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair("RS256");
    const expiration = Math.floor(Date.now() / 1000) + 600;
    expect((await put(service, key, await keyserverJwt(key, service), `?expiration=${expiration}&rotation=3600`)).status).toBe(
      202,
    );
    await approve(key.kid);
    const response = await call(keyPath(service, key.kid));
    const maxAge = Number(/max-age=(\d+)/.exec(response.headers.get("cache-control")!)![1]);
    expect(maxAge).toBeGreaterThan(500);
    expect(maxAge).toBeLessThanOrEqual(600);
    const stored = await json(await call(`/api/v1/superuser/keys/${key.kid}`, { auth: adminAuth() }), 200);
    expect(stored.rotation_duration).toBe(3600);

    await env.DB.prepare("UPDATE service_keys SET expires_at = ? WHERE kid = ?")
      .bind(Date.now() - 1000, key.kid)
      .run();
    await json(await call(keyPath(service, key.kid)), 403);
    expect(await jwksKids(service)).toEqual([]);
  });

  it("answers 404 for an unknown key and for a key of another service", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair();
    await register(service, key);
    await json(await call(keyPath(uniqueName("other"), key.kid)), 404);
    await json(await call(keyPath(service, (await makeKeyPair()).kid)), 404);
  });

  it("rotates: a key PUT with a JWT from an approved key replaces it and inherits the approval (200)", async () => {
    const service = uniqueName("svc");
    const old = await makeKeyPair();
    await register(service, old);
    await approve(old.kid);
    const next = await makeKeyPair("RS256");
    const response = await put(service, next, await keyserverJwt(old, service));
    expect(response.status).toBe(200);
    expect(await jwksKids(service)).toEqual([next.kid]);
    const rotated = await json(await call(`/api/v1/superuser/keys/${next.kid}`, { auth: adminAuth() }), 200);
    expect(rotated.approval.approval_type).toBe("ServiceKeyApprovalType.KEY_ROTATION");
    expect(rotated.metadata.created_by).toBe("Key Rotation");
    await json(await call(`/api/v1/superuser/keys/${old.kid}`, { auth: adminAuth() }), 404);
  });

  it("refuses a rotation signed by an unapproved key of the service (403)", async () => {
    const service = uniqueName("svc");
    const pending = await makeKeyPair();
    await register(service, pending);
    const next = await makeKeyPair();
    await json(await put(service, next, await keyserverJwt(pending, service)), 403);
    expect(await jwksKids(service)).toEqual([]);
  });

  it("refuses a rotation signed by an approved key of another service (403)", async () => {
    const other = uniqueName("svc");
    const signer = await makeKeyPair();
    await register(other, signer);
    await approve(signer.kid);
    const service = uniqueName("svc");
    const next = await makeKeyPair();
    await json(await put(service, next, await keyserverJwt(signer, service)), 403);
  });

  it("deletes with a JWT signed by the key itself or another approved key (204), else 403", async () => {
    const service = uniqueName("svc");
    const a = await makeKeyPair();
    const b = await makeKeyPair();
    const stranger = await makeKeyPair();
    await register(service, a);
    await register(service, b);
    await approve(b.kid);
    const del = async (kid: string, token: string) =>
      call(keyPath(service, kid), { method: "DELETE", headers: { authorization: `Bearer ${token}` } });

    await json(await del(a.kid, await keyserverJwt(stranger, service)), 403);
    await json(await del(a.kid, await keyserverJwt(a, service, { kid: b.kid })), 403); // forged: claims b, signed by a
    expect((await del(a.kid, await keyserverJwt(b, service))).status).toBe(204);
    expect((await del(b.kid, await keyserverJwt(b, service))).status).toBe(204);
    await json(await del(b.kid, await keyserverJwt(b, service)), 404);
  });

  it("reserves the keyward service", async () => {
    const key = await makeKeyPair();
    await json(await put("keyward", key, await keyserverJwt(key, "keyward")), 403);
  });
});

describe("keyserver JWT checks", () => {
  const forgeries: [string, (key: ServiceKeyPair, service: string) => Promise<string> | string][] = [
    [
      "signed by another key claiming this kid",
      async (key, service) => keyserverJwt(await makeKeyPair(), service, { kid: key.kid }),
    ],
    ["expired", (key, service) => keyserverJwt(key, service, { expSeconds: -600 })],
    ["without exp", (key, service) => keyserverJwt(key, service, { noExp: true })],
    ["living longer than an hour", (key, service) => keyserverJwt(key, service, { expSeconds: 7200 })],
    ["for another audience", (key, service) => keyserverJwt(key, service, { aud: "someone-else" })],
    ["from another issuer", (key, _service) => keyserverJwt(key, "other-service")],
    ["alg none", (key, service) => unsignedJwt(key.kid, service)],
    ["HS256 with the public key as the secret", (key, service) => hmacConfusionJwt(key, service)],
  ];

  it.each(forgeries)("refuses a registration JWT %s with 403, storing nothing", async (_name, forge) => {
    const service = uniqueName("svc");
    const key = await makeKeyPair();
    const response = await put(service, key, await forge(key, service));
    expect((await json(response, 403)).error.code).toBe("forbidden");
    await json(await call(`/api/v1/superuser/keys/${key.kid}`, { auth: adminAuth() }), 404);
  });

  it.each([
    ["no Authorization header", undefined],
    ["a Basic header", "Basic YTpi"],
    ["a Bearer that is no JWS", "Bearer not-a-jwt"],
  ])("answers %s with 400", async (_name, authorization) => {
    const service = uniqueName("svc");
    const key = await makeKeyPair();
    const response = await call(keyPath(service, key.kid), {
      method: "PUT",
      json: key.jwk,
      headers: authorization ? { authorization } : {},
    });
    await json(response, 400);
  });
});

describe("keyserver JWK validation", () => {
  it.each<[string, (key: ServiceKeyPair) => unknown, string]>([
    [
      "a kid that is not the JWK's thumbprint",
      // A valid key, but another one than the kid in the path names.
      () => otherKey.jwk,
      "thumbprint",
    ],
    ["private members", (key) => ({ ...key.jwk, d: "A".repeat(43) }), "d"],
    ["an unsupported curve", (key) => ({ ...key.jwk, crv: "P-384" }), "crv"],
    ["a symmetric key", () => ({ kty: "oct", k: "c2VjcmV0" }), "kty"],
    ["a short RSA modulus", () => ({ kty: "RSA", n: "A".repeat(171), e: "AQAB" }), "2048"],
  ])("refuses %s with 400", async (_name, makeJwk, mentions) => {
    const service = uniqueName("svc");
    const key = await makeKeyPair();
    const response = await put(service, key, await keyserverJwt(key, service), "", makeJwk(key));
    expect((await json(response, 400)).error.message).toContain(mentions);
  });

  it.each([
    ["an expiration in the past", "?expiration=1000", "past"],
    ["an expiration that is no number", "?expiration=soon", "expiration"],
    ["a rotation that is no number", "?rotation=1h", "rotation"],
    ["an unknown parameter", "?approve=true", "approve"],
  ])("refuses %s with 400", async (_name, query, mentions) => {
    const service = uniqueName("svc");
    const key = await makeKeyPair();
    const response = await put(service, key, await keyserverJwt(key, service), query);
    expect((await json(response, 400)).error.message).toContain(mentions);
  });

  it("answers 409 when the kid is registered already", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair();
    await register(service, key);
    await json(await put(service, key, await keyserverJwt(key, service)), 409);
  });
});
