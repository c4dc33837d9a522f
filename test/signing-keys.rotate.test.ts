import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { adminAuth, call, createUser, json, uniqueIp } from "./helpers";

const tokenKid = async () => {
  const { token } = await json(
    await call("/v2/auth?service=registry.local", { headers: { "cf-connecting-ip": uniqueIp() } }),
    200,
  );
  return { token: token as string, header: decodeProtectedHeader(token) };
};
const jwks = async () => json(await call("/.well-known/jwks.json"), 200);
const runSweepCron = () => worker.scheduled(createScheduledController({ cron: "*/10 * * * *", scheduledTime: Date.now() }), env);

describe("rotate now (POST /api/v1/superuser/signing-keys/rotate)", () => {
  it("signs new tokens with the new key at once; the old key stays published until its tokens expire", async () => {
    const before = await tokenKid();
    const rotated = await json(await call("/api/v1/superuser/signing-keys/rotate", { method: "POST", auth: adminAuth() }), 200);
    expect(rotated).toMatchObject({ kid: expect.any(String), algorithm: "ES256", certificate: expect.any(String) });
    const after = await tokenKid();
    expect(after.header.kid).toBe(rotated.kid);
    expect(after.header.kid).not.toBe(before.header.kid);
    // Both verify through the JWKS: nothing a registry holds breaks.
    const set = createLocalJWKSet(await jwks());
    await jwtVerify(before.token, set, { issuer: "keyward", audience: "registry.local" });
    await jwtVerify(after.token, set, { issuer: "keyward", audience: "registry.local" });

    const listed = await json(await call("/api/v1/superuser/signing-keys", { auth: adminAuth() }), 200);
    expect(listed.keys[0]).toMatchObject({ kid: rotated.kid, state: "active" });
    expect(listed.keys.find((k: any) => k.kid === before.header.kid)).toMatchObject({ state: "retiring" });

    // The cron retires the old key once every token it signed has expired (TTL + leeway + cache).
    await runSweepCron();
    const old = listed.keys.find((k: any) => k.kid === before.header.kid);
    const retiredAt = await env.DB.prepare("SELECT expires_at AS t FROM service_keys WHERE kid = ?")
      .bind(old.kid)
      .first<{ t: number }>();
    expect(retiredAt!.t).toBeLessThanOrEqual(Date.now() + (300 + 120 + 60) * 1000 + 5000);
    expect(retiredAt!.t).toBeGreaterThan(Date.now() + 300 * 1000);
    await env.DB.prepare("UPDATE service_keys SET expires_at = ? WHERE kid = ?")
      .bind(Date.now() - 1, old.kid)
      .run();
    expect((await jwks()).keys.map((k: any) => k.kid)).not.toContain(old.kid);
  });

  it("takes an algorithm: RS256 tokens verify through the JWKS", async () => {
    const rotated = await json(
      await call("/api/v1/superuser/signing-keys/rotate", { method: "POST", auth: adminAuth(), json: { algorithm: "RS256" } }),
      200,
    );
    expect(rotated.algorithm).toBe("RS256");
    const { token, header } = await tokenKid();
    expect(header).toMatchObject({ alg: "RS256", kid: rotated.kid, typ: "at+jwt" });
    await jwtVerify(token, createLocalJWKSet(await jwks()), { issuer: "keyward", audience: "registry.local" });
    await json(
      await call("/api/v1/superuser/signing-keys/rotate", { method: "POST", auth: adminAuth(), json: { algorithm: "ES256" } }),
      200,
    );
  });

  it.each([
    ["an unknown algorithm", { algorithm: "HS256" }, 400],
    ["an unknown field", { algorithm: "ES256", x: 1 }, 400],
  ])("refuses %s", async (_name, body, status) => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM service_keys WHERE service = 'keyward'").first<{
      n: number;
    }>();
    await json(await call("/api/v1/superuser/signing-keys/rotate", { method: "POST", auth: adminAuth(), json: body }), status);
    const after = await env.DB.prepare("SELECT count(*) AS n FROM service_keys WHERE service = 'keyward'").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it("is for superusers only", async () => {
    const user = await createUser();
    await json(await call("/api/v1/superuser/signing-keys/rotate", { method: "POST", auth: user.auth }), 403);
    await json(await call("/api/v1/superuser/signing-keys", { auth: user.auth }), 403);
    await json(await call("/api/v1/superuser/signing-keys/rotate", { method: "POST" }), 401);
  });
});

describe("jobs added with the trust core", () => {
  it("sweepSpentJtis forgets jtis past their exp (plus the clock leeway) only", async () => {
    const now = Date.now();
    await env.DB.prepare("INSERT INTO keyserver_jtis (id, expires_at) VALUES ('s:old', ?), ('s:fresh', ?)")
      .bind(now - 120_000, now + 60_000)
      .run();
    await runSweepCron();
    const left = await env.DB.prepare("SELECT id FROM keyserver_jtis WHERE id IN ('s:old', 's:fresh')").all<{ id: string }>();
    expect(left.results.map((r) => r.id)).toEqual(["s:fresh"]);
  });

  it("one failing job does not stop the others, and is audited as failed", async () => {
    const { CRON_JOBS } = await import("../src/jobs");
    const jobs = CRON_JOBS["*/10 * * * *"]!;
    jobs.explodingJob = async () => {
      throw new Error("boom");
    };
    try {
      const since = Date.now();
      await expect(runSweepCron()).rejects.toThrow("1 job(s) failed");
      const rows = await env.DB.prepare(
        "SELECT kind, target_id AS job FROM audit_log WHERE kind IN ('job.run', 'job.failed') AND at >= ?",
      )
        .bind(since)
        .all<{ kind: string; job: string }>();
      const failed = rows.results.filter((r) => r.kind === "job.failed").map((r) => r.job);
      const ran = rows.results.filter((r) => r.kind === "job.run").map((r) => r.job);
      expect(failed).toEqual(["explodingJob"]);
      expect(ran.sort()).toEqual(
        Object.keys(jobs)
          .filter((j) => j !== "explodingJob")
          .sort(),
      );
    } finally {
      delete jobs.explodingJob;
    }
  });
});
