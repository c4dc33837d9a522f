import { loadConfig } from "../config";
import { createDb } from "../db/client";
import type { Env } from "../env";
import { safeErrorText } from "../errors";
import { auditInsert, SYSTEM_ACTOR } from "../services/audit";
import { meteredD1, QUERY_BUDGET, QueryBudget } from "./budget";
import type { Job, JobResult } from "./context";
import { sweepAuthFailures, sweepSpentJtis, trimAuditLog } from "./housekeeping";
import { gcServiceKeys, retireSigningKeys, rotateSigningKeys } from "./serviceKeys";
import { sweepDeprecatedSecrets } from "./sweepDeprecatedSecrets";
import { sweepExpiredApiKeys } from "./sweepExpiredApiKeys";
import { sweepExpiredRefreshTokens } from "./sweepExpiredRefreshTokens";
import { sweepExpiredRegistryTokens } from "./sweepExpiredRegistryTokens";
import { sweepExpiredSessions } from "./sweepExpiredSessions";

/**
 * Cron expression → the jobs it runs. These keys and wrangler.toml's [triggers] crons stay
 * identical (a test checks it).
 */
export const CRON_JOBS: Record<string, Record<string, Job>> = {
  "*/10 * * * *": {
    sweepExpiredApiKeys,
    sweepExpiredRegistryTokens,
    sweepExpiredRefreshTokens,
    sweepExpiredSessions,
    sweepDeprecatedSecrets,
    sweepAuthFailures,
    sweepSpentJtis,
    retireSigningKeys,
    gcServiceKeys,
  },
  "17 3 * * *": { rotateSigningKeys, trimAuditLog },
};

/**
 * Queries each job after the running one keeps back, so a backlog in one job cannot starve the
 * others: enough for one pass of any job (gcServiceKeys' three selections, a signing key's
 * creation) and its audit entry.
 */
export const JOB_RESERVE = 10;

/**
 * The Worker's scheduled() handler: dispatch only. The jobs share one D1 query budget per
 * invocation (`queryBudget`, for tests); each takes what the jobs after it do not keep back,
 * and one query more for its own audit entry. A job that runs out stops between batches; the
 * next run goes on from there.
 */
export async function runScheduled(
  controller: ScheduledController,
  env: Env,
  queryBudget = QUERY_BUDGET,
): Promise<Record<string, JobResult>> {
  const jobs = CRON_JOBS[controller.cron];
  if (!jobs) {
    console.error(`no jobs for cron "${controller.cron}"`);
    return {};
  }
  const config = await loadConfig(env);
  const budget = new QueryBudget(queryBudget);
  const db = createDb(meteredD1(env.DB, budget));
  const now = new Date(controller.scheduledTime || Date.now());
  const results: Record<string, JobResult> = {};
  const entries = Object.entries(jobs);
  let failures = 0;
  // One failing job must not keep the others from running; each outcome is audited.
  for (const [i, [name, job]] of entries.entries()) {
    const allowance = budget.allowance(budget.remaining - 1 - JOB_RESERVE * (entries.length - 1 - i));
    const d1 = meteredD1(env.DB, allowance);
    try {
      results[name] = { ...(await job({ db: createDb(d1), d1, budget: allowance, config, now })), queries: allowance.used };
      await auditInsert(db, SYSTEM_ACTOR, {
        kind: "job.run",
        targetType: "job",
        targetId: name,
        metadata: { cron: controller.cron, ...results[name] },
      });
    } catch (err) {
      failures += 1;
      console.error(`job ${name} failed`, safeErrorText(err));
      await auditInsert(db, SYSTEM_ACTOR, {
        kind: "job.failed",
        targetType: "job",
        targetId: name,
        metadata: { cron: controller.cron, error: safeErrorText(err), queries: allowance.used },
      }).catch(() => undefined);
    }
  }
  // Surface the failure to the Workers runtime (cron history) after all jobs had their turn.
  if (failures > 0) throw new Error(`${failures} job(s) failed for cron "${controller.cron}"`);
  return results;
}
