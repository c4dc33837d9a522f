import { BATCH_ROWS, type JobContext, type JobResult, repeatInBatches } from "./context";

/**
 * Ended sessions (idle or absolute expiry, whichever came first: `expires_at` holds it) are
 * useless: delete them in bounded batches through the expiry index.
 */
export async function sweepExpiredSessions(ctx: JobContext): Promise<JobResult> {
  const { d1, now } = ctx;
  const sweep = d1
    .prepare(
      `DELETE FROM sessions WHERE id IN
         (SELECT id FROM sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ${BATCH_ROWS})`,
    )
    .bind(now.getTime());
  const { changed: deleted, more } = await repeatInBatches(ctx, [sweep]);
  return { deleted, more };
}
