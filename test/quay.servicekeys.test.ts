import { env } from "cloudflare:workers";
import { calculateJwkThumbprint, exportJWK, importSPKI } from "jose";
import { describe, expect, it } from "vitest";
import { adminAuth, call, createUser, json, uniqueName } from "./helpers";

const KEYS = "/api/v1/superuser/keys";
const inOneDay = () => Math.floor(Date.now() / 1000) + 86_400;

async function createServiceKey(body: Record<string, unknown>) {
  return json(await call(KEYS, { method: "POST", auth: adminAuth(), json: body }), 200);
}

describe("superuser service keys (Quay)", () => {
  it.each(["RS256", "ES256"])(
    "creates an approved %s key, returns the private key once, stores only the public JWK",
    async (algorithm) => {
      const service = uniqueName("svc");
      const created = await createServiceKey({
        service,
        expiration: inOneDay(),
        name: "first",
        algorithm,
        metadata: { team: "a" },
      });
      expect(created.public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      expect(created.private_key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      // kid is the RFC 7638 thumbprint of the returned public key, computed independently.
      const spki = await importSPKI(created.public_key, algorithm, { extractable: true });
      expect(created.kid).toBe(await calculateJwkThumbprint(await exportJWK(spki), "sha256"));

      const key = await json(await call(`${KEYS}/${created.kid}`, { auth: adminAuth() }), 200);
      expect(key).toMatchObject({
        kid: created.kid,
        name: "first",
        service,
        rotation_duration: null,
        metadata: { team: "a", created_by: "root" },
        approval: { approval_type: "ServiceKeyApprovalType.SUPERUSER", approver: { name: "root" } },
      });
      expect(key.created_date).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
      expect(key.jwk.kid).toBe(created.kid);
      expect(key.jwk).not.toHaveProperty("d");

      const privateBody = created.private_key.split("\n")[1];
      const dump = JSON.stringify((await env.DB.prepare("SELECT * FROM service_keys").all()).results);
      expect(dump).not.toContain(privateBody);
      const listed = await json(await call(KEYS, { auth: adminAuth() }), 200);
      expect(JSON.stringify(listed)).not.toContain("PRIVATE KEY");
      expect(listed.keys.map((k: any) => k.kid)).toContain(created.kid);
    },
  );

  it("appears in its service's JWKS; updates merge metadata; delete removes it", async () => {
    const service = uniqueName("svc");
    const { kid } = await createServiceKey({ service, expiration: null, metadata: { a: 1 } });
    const jwks = await json(await call(`/keys/services/${service}/keys`), 200);
    expect(jwks.keys.map((k: any) => k.kid)).toEqual([kid]);

    const newExpiry = inOneDay() + 3600;
    const updated = await json(
      await call(`${KEYS}/${kid}`, {
        method: "PUT",
        auth: adminAuth(),
        json: { name: "renamed", metadata: { b: 2 }, expiration: newExpiry },
      }),
      200,
    );
    expect(updated.name).toBe("renamed");
    expect(updated.metadata).toMatchObject({ a: 1, b: 2 });
    expect(new Date(updated.expiration_date).getTime()).toBe(newExpiry * 1000);

    await json(await call(`${KEYS}/${kid}`, { method: "PUT", auth: adminAuth(), json: { expiration: 1000 } }), 400);

    expect((await call(`${KEYS}/${kid}`, { method: "DELETE", auth: adminAuth() })).status).toBe(204);
    await json(await call(`${KEYS}/${kid}`, { auth: adminAuth() }), 404);
    expect((await json(await call(`/keys/services/${service}/keys`), 200)).keys).toEqual([]);
  });

  it("approves with notes (201), idempotently", async () => {
    const { kid } = await createServiceKey({ service: uniqueName("svc"), expiration: null });
    const first = await call(`/api/v1/superuser/approvedkeys/${kid}`, {
      method: "POST",
      auth: adminAuth(),
      json: { notes: "ok" },
    });
    expect(first.status).toBe(201);
    const again = await call(`/api/v1/superuser/approvedkeys/${kid}`, { method: "POST", auth: adminAuth(), json: {} });
    expect(again.status).toBe(201);
  });

  it("reserves the keyward service for keyward's own signing keys", async () => {
    const response = await call(KEYS, { method: "POST", auth: adminAuth(), json: { service: "keyward", expiration: null } });
    expect((await json(response, 403)).error.code).toBe("forbidden");
  });

  it("is closed to normal users", async () => {
    const user = await createUser();
    await json(await call(KEYS, { auth: user.auth }), 403);
    await json(await call(KEYS, { method: "POST", auth: user.auth, json: { service: "x", expiration: null } }), 403);
  });

  it("audits create, update, approve and delete", async () => {
    const { kid } = await createServiceKey({ service: uniqueName("svc"), expiration: null });
    await call(`${KEYS}/${kid}`, { method: "PUT", auth: adminAuth(), json: { name: "n" } });
    await call(`${KEYS}/${kid}`, { method: "DELETE", auth: adminAuth() });
    const kinds = (
      await env.DB.prepare("SELECT kind FROM audit_log WHERE target_id = ? ORDER BY id").bind(kid).all<{ kind: string }>()
    ).results.map((r) => r.kind);
    expect(kinds).toEqual(["service_key.create", "service_key.update", "service_key.delete"]);
  });
});

describe.each([
  { name: "missing service", body: { expiration: null }, mentions: "service" },
  { name: "missing expiration", body: { service: "svc" }, mentions: "expiration" },
  {
    name: "expiration in the past",
    body: { service: "svc", expiration: 1000 },
    status: 400,
    code: "bad_request",
    mentions: "past",
  },
  { name: "expiration as a string", body: { service: "svc", expiration: "tomorrow" }, mentions: "expiration" },
  { name: "fractional expiration", body: { service: "svc", expiration: 1.5e9 + 0.5 }, mentions: "expiration" },
  { name: "bad service name", body: { service: "Bad Service", expiration: null }, mentions: "service" },
  { name: "unknown algorithm", body: { service: "svc", expiration: null, algorithm: "HS256" }, mentions: "algorithm" },
  { name: "unknown field", body: { service: "svc", expiration: null, private_key: "x" }, mentions: "private_key" },
  { name: "metadata not an object", body: { service: "svc", expiration: null, metadata: [1] }, mentions: "metadata" },
])("service key bad input: $name", ({ body, mentions, status = 400, code = "validation_failed" }) => {
  it(`answers ${status} and creates nothing`, async () => {
    const before = (await json(await call(KEYS, { auth: adminAuth() }), 200)).keys.length;
    const response = await json(await call(KEYS, { method: "POST", auth: adminAuth(), json: body }), status);
    expect(response.error.code).toBe(code);
    expect(response.error.message).toContain(mentions);
    expect((await json(await call(KEYS, { auth: adminAuth() }), 200)).keys.length).toBe(before);
  });
});

describe("service key paths", () => {
  it.each([
    ["a kid that is no thumbprint", `${KEYS}/not-a-kid`, 400],
    ["an unknown kid", `${KEYS}/${"A".repeat(43)}`, 404],
  ])("answers %s with %i", async (_name, path, status) => {
    await json(await call(path, { auth: adminAuth() }), status);
    await json(await call(path, { method: "DELETE", auth: adminAuth() }), status);
  });
});
