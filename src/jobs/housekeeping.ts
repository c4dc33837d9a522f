import { sql } from "drizzle-orm";
import { sweepStaleFailures } from "../services/authFailures";
import { BATCH_ROWS, MAX_BATCHES, type JobContext, type JobResult } from "./context";

/** Failed-sign-in counters whose window has passed (index on window_start). */
export async function sweepAuthFailures({ db, now }: JobContext): Promise<JobResult> {
  const result = await sweepStaleFailures(db, now.getTime());
  return { deleted: result.meta.changes ?? 0 };
}

/** Audit entries older than the retention window, oldest first, through the index on `at`. */
export async function trimAuditLog({ db, config, now }: JobContext): Promise<JobResult> {
  const cutoff = now.getTime() - config.auditRetentionMs;
  let deleted = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const result = await db.run(
      sql`DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ${cutoff} ORDER BY at LIMIT ${BATCH_ROWS})`,
    );
    const changes = result.meta.changes ?? 0;
    deleted += changes;
    if (changes < BATCH_ROWS) break;
  }
  return { deleted };
}
