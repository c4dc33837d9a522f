import { sweepStaleFailures } from "../services/authFailures";
import { BATCH_ROWS, repeatInBatches, type JobContext, type JobResult } from "./context";

/** Failed-sign-in counters whose window has passed (index on window_start). */
export async function sweepAuthFailures({ db, now }: JobContext): Promise<JobResult> {
  const result = await sweepStaleFailures(db, now.getTime());
  return { deleted: result.meta.changes ?? 0 };
}

/** Audit entries older than the retention window, oldest first, through the index on `at`. */
export async function trimAuditLog({ d1, config, now }: JobContext): Promise<JobResult> {
  const trim = d1
    .prepare(`DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ${BATCH_ROWS})`)
    .bind(now.getTime() - config.auditRetentionMs);
  const deleted = await repeatInBatches(d1, [trim]);
  return { deleted };
}
