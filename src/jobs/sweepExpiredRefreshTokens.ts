import { BATCH_ROWS, type JobContext, type JobResult, repeatInBatches } from "./context";

/** Expired refresh tokens are useless: delete them in bounded batches through the expiry index. */
export async function sweepExpiredRefreshTokens(ctx: JobContext): Promise<JobResult> {
  const { d1, now } = ctx;
  const sweep = d1
    .prepare(
      `DELETE FROM refresh_tokens WHERE id IN
         (SELECT id FROM refresh_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ${BATCH_ROWS})`,
    )
    .bind(now.getTime());
  const { changed: deleted, more } = await repeatInBatches(ctx, [sweep]);
  return { deleted, more };
}
