import { loadConfig } from "../config";
import { createDb } from "../db/client";
import type { Env } from "../env";
import { safeErrorText } from "../errors";
import { auditInsert, SYSTEM_ACTOR } from "../services/audit";
import type { Job, JobResult } from "./context";
import { sweepAuthFailures, sweepSpentJtis, trimAuditLog } from "./housekeeping";
import { gcServiceKeys, retireSigningKeys, rotateSigningKeys } from "./serviceKeys";
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
    sweepAuthFailures,
    sweepSpentJtis,
    retireSigningKeys,
    gcServiceKeys,
  },
  "17 3 * * *": { rotateSigningKeys, trimAuditLog },
};

/** The Worker's scheduled() handler: dispatch only. */
export async function runScheduled(controller: ScheduledController, env: Env): Promise<Record<string, JobResult>> {
  const jobs = CRON_JOBS[controller.cron];
  if (!jobs) {
    console.error(`no jobs for cron "${controller.cron}"`);
    return {};
  }
  const config = await loadConfig(env);
  const db = createDb(env.DB);
  const now = new Date(controller.scheduledTime || Date.now());
  const results: Record<string, JobResult> = {};
  let failures = 0;
  // One failing job must not keep the others from running; each outcome is audited.
  for (const [name, job] of Object.entries(jobs)) {
    try {
      results[name] = await job({ db, d1: env.DB, config, now });
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
        metadata: { cron: controller.cron, error: safeErrorText(err) },
      }).catch(() => undefined);
    }
  }
  // Surface the failure to the Workers runtime (cron history) after all jobs had their turn.
  if (failures > 0) throw new Error(`${failures} job(s) failed for cron "${controller.cron}"`);
  return results;
}
