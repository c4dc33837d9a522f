import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { createDb } from "../../src/db/client";
import { SYSTEM_ACTOR } from "../../src/services/audit";
import { findServiceKey, registerServiceKey, rotateServiceKey } from "../../src/services/serviceKeys";
import { adminAuth, call, json, uniqueName } from "../helpers";
import { keyserverJwt, makeKeyPair, type ServiceKeyPair } from "../keys-helpers";
import { auditCount, expectStatuses } from "./support";

/*
 * Defect 5: N parallel rotations signed by one approved key all succeeded (one approval, N
 * approved keys). Defect 6: concurrent registration of one kid answered 500. Defect 10:
 * keyserver JWTs were replayable within their hour (a JWT made to delete one key could rotate).
 */

const keyPath = (service: string, kid: string) => `/keys/services/${service}/keys/${kid}`;
const put = (service: string, key: ServiceKeyPair, token: string) =>
  call(keyPath(service, key.kid), { method: "PUT", json: key.jwk, headers: { authorization: `Bearer ${token}` } });

async function approvedKey(service: string): Promise<ServiceKeyPair> {
  const key = await makeKeyPair("ES256");
  expect((await put(service, key, await keyserverJwt(key, service))).status).toBe(202);
  expect((await call(`/api/v1/superuser/approvedkeys/${key.kid}`, { method: "POST", auth: adminAuth(), json: {} })).status).toBe(
    201,
  );
  return key;
}

const approvedKids = async (service: string) =>
  (await json(await call(`/keys/services/${service}/keys`), 200)).keys.map((k: any) => k.kid) as string[];

describe("rotation race", () => {
  it("of N parallel rotations signed by one approved key, exactly one wins", async () => {
    const service = uniqueName("svc");
    const signer = await approvedKey(service);
    const candidates = await Promise.all(Array.from({ length: 6 }, () => makeKeyPair("ES256")));
    const responses = await Promise.all(candidates.map(async (k) => put(service, k, await keyserverJwt(signer, service))));
    // Losers are refused either before the write (the signer is already gone: 403) or by the
    // conditional insert (409); none adds a key.
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    expect(responses.every((r) => [200, 403, 409].includes(r.status))).toBe(true);
    const kids = await approvedKids(service);
    expect(kids).toHaveLength(1);
    const winner = candidates[responses.findIndex((r) => r.status === 200)]!;
    expect(kids).toEqual([winner.kid]);
    const rows = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE kind = 'service_key.rotate' AND json_extract(metadata, '$.replaces') = ?",
    )
      .bind(signer.kid)
      .first<{ n: number }>();
    expect(rows!.n).toBe(1);
  });

  it("a rotation that read the signer before another rotation removed it writes nothing (409)", async () => {
    // The branch itself: two rotations that both passed the signer check, run one after the other.
    const service = uniqueName("svc");
    const signer = await approvedKey(service);
    const db = createDb(env.DB);
    const config = await loadConfig(env);
    const signerRow = (await findServiceKey(db, signer.kid))!;
    const rotate = async (jti: string) => {
      const k = await makeKeyPair("ES256");
      const input = { service, kid: k.kid, jwk: k.jwk, expiration: null, rotationDurationSeconds: null, metadata: {} };
      return rotateServiceKey(db, config, SYSTEM_ACTOR, signerRow, input, {
        id: `${service}:${jti}`,
        expiresAt: new Date(Date.now() + 60_000),
      });
    };
    await rotate("one");
    await expect(rotate("two")).rejects.toMatchObject({ code: "conflict" });
    expect(await approvedKids(service)).toHaveLength(1);
  });
});

describe("registration race", () => {
  it("concurrent registrations of one kid: one 202, the rest 409, never a 500", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair("ES256");
    const responses = await Promise.all(
      Array.from({ length: 5 }, async () => put(service, key, await keyserverJwt(key, service))),
    );
    expectStatuses(responses, { 202: 1, 409: 4 });
    expect(await auditCount("service_key.register", key.kid)).toBe(1);
  });

  it("the same at the service: registrations that all passed the existence check give one key and conflicts", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair("ES256");
    const db = createDb(env.DB);
    const config = await loadConfig(env);
    const input = { service, kid: key.kid, jwk: key.jwk, expiration: null, rotationDurationSeconds: null, metadata: {} };
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        registerServiceKey(db, config, SYSTEM_ACTOR, input, {
          id: `${service}:reg-${i}`,
          expiresAt: new Date(Date.now() + 60_000),
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(
      Array(4).fill("conflict"),
    );
  });
});

describe("replays", () => {
  it("a JWT made to delete one key cannot be replayed to rotate", async () => {
    const service = uniqueName("svc");
    const signer = await approvedKey(service);
    const victim = await approvedKey(service);
    const jwt = await keyserverJwt(signer, service);
    expect(
      (await call(keyPath(service, victim.kid), { method: "DELETE", headers: { authorization: `Bearer ${jwt}` } })).status,
    ).toBe(204);
    const replacement = await makeKeyPair("ES256");
    const replay = await put(service, replacement, jwt);
    expect(replay.status).toBe(403);
    expect((await replay.json<any>()).error.message).toContain("replay");
    expect(await approvedKids(service)).toEqual([signer.kid]);
  });

  it("a JWT without a jti is refused", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair("ES256");
    const res = await put(service, key, await keyserverJwt(key, service, { jti: null }));
    expect(res.status).toBe(403);
    expect((await res.json<any>()).error.message).toContain("jti");
  });

  it("a JWT with keyward's at+jwt typ or keyward's issuer is refused", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair("ES256");
    expect((await put(service, key, await keyserverJwt(key, service, { typ: "at+jwt" }))).status).toBe(403);
    const other = await makeKeyPair("ES256");
    // iss must be the service anyway; keyward's issuer is refused by name as well.
    expect((await put(service, other, await keyserverJwt(other, service, { iss: "keyward" }))).status).toBe(403);
  });

  it("jtis are remembered per service", async () => {
    const service = uniqueName("svc");
    const key = await makeKeyPair("ES256");
    const jwt = await keyserverJwt(key, service, { jti: "fixed-jti" });
    expect((await put(service, key, jwt)).status).toBe(202);
    const second = await makeKeyPair("ES256");
    // Same jti, another service's JWT: jtis are per service, so this one is fresh.
    const otherService = uniqueName("svc");
    expect((await put(otherService, second, await keyserverJwt(second, otherService, { jti: "fixed-jti" }))).status).toBe(202);
  });
});
