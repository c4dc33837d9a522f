import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { CRON_JOBS, JOB_RESERVE, runScheduled } from "../src/jobs";
import { QUERY_BUDGET } from "../src/jobs/budget";
import { BATCH_ROWS, type Job } from "../src/jobs/context";
import { countingD1 } from "./db-spy";
import { createKey, createUser, uniqueName } from "./helpers";

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

async function userIdOf(username: string) {
  return (await env.DB.prepare("SELECT id FROM users WHERE username = ?").bind(username).first<{ id: string }>())!.id;
}

/** One scheduled invocation with `budget` queries, through a D1 that counts what it is sent. */
async function runCounted(budget = QUERY_BUDGET) {
  const spy = countingD1();
  const results = await runScheduled(
    createScheduledController({ cron: SWEEP_CRON, scheduledTime: Date.now() }),
    { ...env, DB: spy.db },
    budget,
  );
  return { results, statements: spy.statements() };
}

async function sweptAudit(userId: string) {
  return env.DB.prepare(
    "SELECT count(*) AS n, count(DISTINCT target_id) AS d FROM audit_log WHERE kind = 'api_key.sweep' AND subject_user_id = ?",
  )
    .bind(userId)
    .first<{ n: number; d: number }>();
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

  it("finds stale failure counters through their window index, not a table scan", async () => {
    const plan = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT key FROM auth_failures WHERE window_start < ? ORDER BY window_start LIMIT 250",
    )
      .bind(Date.now())
      .all<{ detail: string }>();
    const details = plan.results.map((r) => r.detail).join(" | ");
    expect(details).toContain("USING INDEX auth_failures_window");
    expect(details).not.toMatch(/SCAN auth_failures(?! USING)/);
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

describe("one D1 query budget per scheduled invocation", () => {
  const jobCount = Object.keys(CRON_JOBS[SWEEP_CRON]!).length;
  // Small enough that a backlog of 20,000 keys cannot be cleared in one invocation.
  const SMALL_BUDGET = jobCount * (JOB_RESERVE + 1) + 20;

  it("counts every statement: the jobs' queries and their audit entries are all that D1 is sent", async () => {
    const { results, statements } = await runCounted();
    const jobQueries = Object.values(results).reduce((sum, r) => sum + r.queries!, 0);
    expect(statements).toBe(jobQueries + jobCount); // + one job.run entry per job
    expect(statements).toBeLessThanOrEqual(QUERY_BUDGET);
  });

  it("stays within the budget on a backlog, and the next run goes on without redoing work", async () => {
    const user = await createUser();
    const userId = await userIdOf(user.username);
    const label = uniqueName("backlog");
    const total = 20 * BATCH_ROWS;
    await insertKeys(userId, total, Date.now() - 31 * DAY, label);

    const first = await runCounted(SMALL_BUDGET);
    expect(first.statements).toBeLessThanOrEqual(SMALL_BUDGET);
    const { deleted, more } = first.results.sweepExpiredApiKeys!;
    expect(more).toBe(1);
    expect(deleted).toBeGreaterThan(0);
    expect(deleted! % BATCH_ROWS).toBe(0); // whole batches only: nothing half-done
    expect(await countByLabel(label)).toBe(total - deleted!);
    expect(await sweptAudit(userId)).toEqual({ n: deleted, d: deleted });
    // The backlog did not starve the jobs after it: each ran within what was kept back for it.
    expect(Object.keys(first.results).sort()).toEqual(Object.keys(CRON_JOBS[SWEEP_CRON]!).sort());

    let runs = 1;
    while ((await countByLabel(label)) > 0) {
      const next = await runCounted(SMALL_BUDGET);
      expect(next.statements).toBeLessThanOrEqual(SMALL_BUDGET);
      runs += 1;
      expect(runs).toBeLessThan(10);
    }
    // One audit entry per deleted key, none twice: no run redid another's work.
    expect(await sweptAudit(userId)).toEqual({ n: total, d: total });
    const last = await runCounted(SMALL_BUDGET);
    expect(last.results.sweepExpiredApiKeys).toMatchObject({ deleted: 0, more: 0 });
  });

  it("stops a job that would overspend before its query is sent; the jobs after it still run", async () => {
    const jobs = CRON_JOBS[SWEEP_CRON]!;
    const original = { ...jobs };
    let sent = 0;
    const greedy: Job = async ({ d1 }) => {
      for (;;) {
        await d1.prepare("SELECT 1").first();
        sent += 1;
      }
    };
    for (const name of Object.keys(jobs)) delete jobs[name];
    Object.assign(jobs, { greedy, ...original });
    try {
      const spy = countingD1();
      const controller = createScheduledController({ cron: SWEEP_CRON, scheduledTime: Date.now() });
      await expect(runScheduled(controller, { ...env, DB: spy.db }, SMALL_BUDGET)).rejects.toThrow("1 job(s) failed");
      expect(spy.statements()).toBeLessThanOrEqual(SMALL_BUDGET);
      // Everything but what the jobs after it keep back, and its own audit entry.
      expect(sent).toBe(SMALL_BUDGET - 1 - JOB_RESERVE * jobCount);
      const failed = await env.DB.prepare(
        "SELECT metadata FROM audit_log WHERE kind = 'job.failed' AND target_id = 'greedy' ORDER BY id DESC",
      ).first<{ metadata: string }>();
      expect(JSON.parse(failed!.metadata).error).toContain("query budget");
    } finally {
      for (const name of Object.keys(jobs)) delete jobs[name];
      Object.assign(jobs, original);
    }
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
