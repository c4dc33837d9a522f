import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { CRON_JOBS } from "../src/jobs";
import { createKey, createUser } from "./helpers";

const DAY = 86_400_000;
const SWEEP_CRON = "*/10 * * * *";

/** Inserts `count` keys for one user with a recursive CTE (D1 caps bound parameters). */
async function insertKeys(userId: string, count: number, expiresAt: number | null, label: string) {
  await env.DB.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO api_keys (id, user_id, kind, label, secret_hash, pepper_version, created_at, expires_at)
     SELECT lower(hex(randomblob(16))), ?, 'zot', ?, lower(hex(randomblob(32))), 1, ?, ? FROM n`,
  )
    .bind(count, userId, label, Date.now() - 400 * DAY, expiresAt)
    .run();
}

async function countByLabel(label: string) {
  return (await env.DB.prepare("SELECT count(*) AS n FROM api_keys WHERE label = ?").bind(label).first<{ n: number }>())!.n;
}

async function runCron(cron: string) {
  await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env);
}

describe("cron", () => {
  it("declares exactly the crons wrangler.toml triggers", () => {
    expect(Object.keys(CRON_JOBS).sort()).toEqual([...env.TEST_WRANGLER_CRONS].sort());
  });

  it("sweepExpiredApiKeys deletes keys expired past the retention, in batches, and audits each", async () => {
    const user = await createUser();
    const userId = (await env.DB.prepare("SELECT id FROM users WHERE username = ?").bind(user.username).first<{ id: string }>())!
      .id;
    await insertKeys(userId, 3000, Date.now() - 31 * DAY, "long-expired");
    await insertKeys(userId, 200, Date.now() - 2 * DAY, "recently-expired");
    await insertKeys(userId, 200, Date.now() + 30 * DAY, "valid");
    await insertKeys(userId, 200, null, "forever");
    const live = await createKey(user, { label: "live" });

    await runCron(SWEEP_CRON);

    expect(await countByLabel("long-expired")).toBe(0);
    expect(await countByLabel("recently-expired")).toBe(200); // still listed, marked expired
    expect(await countByLabel("valid")).toBe(200);
    expect(await countByLabel("forever")).toBe(200);
    expect(await countByLabel("live")).toBe(1);
    const swept = await env.DB.prepare(
      "SELECT count(*) AS n, count(DISTINCT target_id) AS d FROM audit_log WHERE kind = 'api_key.sweep' AND subject_user_id = ?",
    )
      .bind(userId)
      .first<{ n: number; d: number }>();
    expect(swept).toEqual({ n: 3000, d: 3000 });
    const run = await env.DB.prepare(
      "SELECT metadata FROM audit_log WHERE kind = 'job.run' AND target_id = 'sweepExpiredApiKeys' ORDER BY id DESC",
    ).first<{ metadata: string }>();
    expect(JSON.parse(run!.metadata)).toMatchObject({ deleted: 3000, cron: SWEEP_CRON });
    expect(live.uuid).toBeTruthy();

    // Idempotent: a second run finds nothing more to do.
    await runCron(SWEEP_CRON);
    expect(await countByLabel("recently-expired")).toBe(200);
  });

  it("finds expired keys through the expiry index, not a table scan", async () => {
    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT id FROM api_keys WHERE expires_at < ? ORDER BY expires_at LIMIT 100",
    )
      .bind(Date.now())
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join(" | ");
    expect(details).toContain("USING INDEX api_keys_expires");
    expect(details).not.toMatch(/SCAN api_keys(?! USING)/);
  });

  it("trims audit entries older than the retention", async () => {
    await env.DB.prepare("INSERT INTO audit_log (at, kind, metadata) VALUES (?, 'ancient', '{}'), (?, 'recent', '{}')")
      .bind(Date.now() - 400 * DAY, Date.now() - DAY)
      .run();
    await runCron("17 3 * * *");
    const kinds = (
      await env.DB.prepare("SELECT kind FROM audit_log WHERE kind IN ('ancient', 'recent')").all<{ kind: string }>()
    ).results.map((r) => r.kind);
    expect(kinds).toEqual(["recent"]);
  });

  it("clears failed-sign-in counters whose window has passed", async () => {
    await env.DB.prepare("INSERT INTO auth_failures (key, window_start, count) VALUES ('client:old', ?, 9), ('client:new', ?, 1)")
      .bind(Date.now() - DAY, Date.now())
      .run();
    await runCron(SWEEP_CRON);
    const keys = (
      await env.DB.prepare("SELECT key FROM auth_failures WHERE key LIKE 'client:%'").all<{ key: string }>()
    ).results.map((r) => r.key);
    expect(keys).toContain("client:new");
    expect(keys).not.toContain("client:old");
  });
});

describe("sweepExpiredRefreshTokens", () => {
  it("deletes expired refresh tokens and keeps live ones", async () => {
    const user = await createUser();
    const userId = (await env.DB.prepare("SELECT id FROM users WHERE username = ?").bind(user.username).first<{ id: string }>())!
      .id;
    const insert = (id: string, expiresAt: number) =>
      env.DB.prepare(
        "INSERT INTO refresh_tokens (id, user_id, service, secret_hash, pepper_version, created_at, expires_at) VALUES (?, ?, 'svc', ?, 1, ?, ?)",
      )
        .bind(id, userId, `hash-${id}`, Date.now() - DAY, expiresAt)
        .run();
    await insert("expired-token", Date.now() - 1000);
    await insert("live-token", Date.now() + DAY);
    await runCron(SWEEP_CRON);
    const ids = (await env.DB.prepare("SELECT id FROM refresh_tokens").all<{ id: string }>()).results.map((r) => r.id);
    expect(ids).toEqual(["live-token"]);
  });
});
