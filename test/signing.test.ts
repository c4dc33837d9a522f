import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { open } from "../src/crypto/envelope";
import { importPrivateKey } from "../src/crypto/keys";
import { parseCertificate, verifyChain } from "../src/crypto/x509";
import { createDb } from "../src/db/client";
import worker from "../src/index";
import { EXPIRED_SERVICE_KEYS, OVERDUE_SERVICE_KEYS, UNAPPROVED_SERVICE_KEYS } from "../src/jobs/serviceKeys";
import { EXPIRED_API_KEYS } from "../src/jobs/sweepExpiredApiKeys";
import { EXPIRED_REGISTRY_TOKENS } from "../src/jobs/sweepExpiredRegistryTokens";
import { createSigningKey, invalidateSigner, SIGNING_KEY_LIFETIME_MS, signJwt } from "../src/services/signingKeys";
import { call, json } from "./helpers";

const DAY = 86_400_000;
const context = async () => ({ db: createDb(env.DB), config: await loadConfig(env) });

async function jwks(path = "/.well-known/jwks.json") {
  return json(await call(path), 200);
}

describe("keyward's signing keys", () => {
  it("sign JWTs with kid (RFC 7638) and x5c, verifiable through the JWKS", async () => {
    const { db, config } = await context();
    const { token, kid } = await signJwt(db, config, { sub: "alice", aud: "registry.local", iss: config.issuer }, 300, "at+jwt");
    const header = decodeProtectedHeader(token);
    expect(header).toMatchObject({ alg: "ES256", typ: "at+jwt", kid });
    expect(header.x5c).toHaveLength(1);
    const set = await jwks();
    expect(set.keys.map((k: any) => k.kid)).toContain(kid);
    const { payload } = await jwtVerify(token, createLocalJWKSet(set), { audience: "registry.local", issuer: config.issuer });
    expect(payload.sub).toBe("alice");
    // The same keys under Quay's keyserver path.
    expect(await jwks("/keys/services/keyward/keys")).toEqual(set);
  });

  it("certify each signing key with the token CA served at /v2/auth/certs.pem", async () => {
    const { db, config } = await context();
    const { token } = await signJwt(db, config, { sub: "x" }, 300, "at+jwt");
    const response = await call("/v2/auth/certs.pem");
    expect(response.headers.get("content-type")).toContain("application/x-pem-file");
    const pem = await response.text();
    expect(pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const ca = parseCertificate(pem);
    const leaf = parseCertificate(
      Uint8Array.from(atob((decodeProtectedHeader(token).x5c as string[])[0]!), (c) => c.charCodeAt(0)),
    );
    expect(await verifyChain(leaf, ca)).toBe(true);
    expect(leaf.issuer).toBe(ca.subject);
  });

  it("keep private keys only sealed with AES-GCM, bound to their kid", async () => {
    const { db, config } = await context();
    const { kid } = await signJwt(db, config, { sub: "x" }, 300, "at+jwt");
    const row = await env.DB.prepare("SELECT private_key_enc, alg FROM service_keys WHERE kid = ?")
      .bind(kid)
      .first<{ private_key_enc: string; alg: "ES256" }>();
    expect(row!.private_key_enc).toMatch(/^v1\./);
    expect(await importPrivateKey(await open(config.kek, row!.private_key_enc, `kid:${kid}`), row!.alg)).toBeTruthy();
    await expect(open(config.kek, row!.private_key_enc, "kid:someone-else")).rejects.toThrow();
    const ca = await env.DB.prepare("SELECT private_key_enc FROM token_authorities").first<{ private_key_enc: string }>();
    expect(ca!.private_key_enc).toMatch(/^v1\./);
    const everything = JSON.stringify([
      (await env.DB.prepare("SELECT * FROM service_keys").all()).results,
      (await env.DB.prepare("SELECT * FROM token_authorities").all()).results,
    ]);
    expect(everything).not.toContain("PRIVATE KEY");
    expect(everything).not.toContain('"d"');
  });

  it("can sign with RS256", async () => {
    const { db, config } = await context();
    const key = await createSigningKey(db, config, new Date(), "RS256");
    invalidateSigner();
    const { token, kid } = await signJwt(db, config, { sub: "x" }, 300, "at+jwt");
    expect(kid).toBe(key.kid);
    expect(decodeProtectedHeader(token).alg).toBe("RS256");
    await jwtVerify(token, createLocalJWKSet(await jwks()));
  });
});

describe("signing-key rotation and service-key GC (cron)", () => {
  const runDaily = (at: number) => worker.scheduled(createScheduledController({ cron: "17 3 * * *", scheduledTime: at }), env);
  const runSweep = (at: number) => worker.scheduled(createScheduledController({ cron: "*/10 * * * *", scheduledTime: at }), env);

  it("adds a new key ahead of the current one's end and keeps the old one published", async () => {
    const { db, config } = await context();
    const { kid: current } = await signJwt(db, config, { sub: "x" }, 300, "at+jwt");
    await runDaily(Date.now());
    const count = async () =>
      (await env.DB.prepare("SELECT count(*) AS n FROM service_keys WHERE service = 'keyward'").first<{ n: number }>())!.n;
    const before = await count();
    // 24 days on, the newest key has less than 7 days left: rotation is due.
    const later = Date.now() + SIGNING_KEY_LIFETIME_MS - 6 * DAY;
    await env.DB.prepare("UPDATE service_keys SET expires_at = ? WHERE service = 'keyward'")
      .bind(later + 6 * DAY - 1000)
      .run();
    await runDaily(later);
    expect(await count()).toBe(before + 1);
    await runDaily(later); // idempotent
    expect(await count()).toBe(before + 1);
    const kids = (await jwks()).keys.map((k: any) => k.kid);
    expect(kids).toContain(current);
    invalidateSigner();
    const { kid: next } = await signJwt(db, config, { sub: "x" }, 300, "at+jwt");
    expect(next).not.toBe(current);
  });

  it("deletes expired keys after 7 days and unapproved keys after 1 day; flags overdue rotations once", async () => {
    const now = Date.now();
    const insert = (kid: string, fields: { created: number; expires: number | null; approved: boolean; rotation?: number }) =>
      env.DB.prepare(
        `INSERT INTO service_keys (kid, service, alg, jwk, metadata, created_at, expires_at, approved_at, rotation_duration_s)
         VALUES (?, 'gc-test', 'ES256', '{}', '{}', ?, ?, ?, ?)`,
      )
        .bind(kid, fields.created, fields.expires, fields.approved ? fields.created : null, fields.rotation ?? null)
        .run();
    await insert("expired-long-ago", { created: now - 40 * DAY, expires: now - 8 * DAY, approved: true });
    await insert("expired-recently", { created: now - 40 * DAY, expires: now - 2 * DAY, approved: true });
    await insert("unapproved-old", { created: now - 2 * DAY, expires: null, approved: false });
    await insert("unapproved-new", { created: now - 3600_000, expires: null, approved: false });
    await insert("rotation-overdue", { created: now - 10 * DAY, expires: null, approved: true, rotation: 86_400 });
    await insert("rotation-fine", { created: now - DAY / 2, expires: null, approved: true, rotation: 86_400 });

    await runSweep(now);
    await runSweep(now);
    const left = (
      await env.DB.prepare("SELECT kid, flagged_at FROM service_keys WHERE service = 'gc-test' ORDER BY kid").all<{
        kid: string;
        flagged_at: number | null;
      }>()
    ).results;
    expect(left.map((r) => r.kid)).toEqual(["expired-recently", "rotation-fine", "rotation-overdue", "unapproved-new"]);
    expect(left.find((r) => r.kid === "rotation-overdue")!.flagged_at).toBe(now);
    expect(left.find((r) => r.kid === "rotation-fine")!.flagged_at).toBeNull();
    const audit = (
      await env.DB.prepare(
        "SELECT kind, target_id FROM audit_log WHERE kind IN ('service_key.gc', 'service_key.rotation_overdue') ORDER BY id",
      ).all<{ kind: string; target_id: string }>()
    ).results;
    expect(audit).toEqual([
      { kind: "service_key.gc", target_id: "expired-long-ago" },
      { kind: "service_key.gc", target_id: "unapproved-old" },
      { kind: "service_key.rotation_overdue", target_id: "rotation-overdue" },
    ]);
  });

  it("selects GC candidates through the jobs' own SQL and partial indexes", async () => {
    for (const [query, index] of [
      [EXPIRED_SERVICE_KEYS, "service_keys_expires"],
      [UNAPPROVED_SERVICE_KEYS, "service_keys_unapproved"],
      [OVERDUE_SERVICE_KEYS, "service_keys_rotation_pending"],
      [EXPIRED_API_KEYS, "api_keys_expires"],
      [EXPIRED_REGISTRY_TOKENS, "registry_tokens_expires"],
    ] as const) {
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`).bind(Date.now()).all<{ detail: string }>();
      const details = plan.results.map((r) => r.detail).join(" | ");
      expect(details).toContain(index);
      // At most a walk of the partial index (rows that may be due), never of the table.
      expect(details).not.toMatch(/SCAN \w+\b(?! USING)/);
    }
  });
});
