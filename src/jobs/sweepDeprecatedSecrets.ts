import { BATCH_ROWS, type JobContext, type JobResult, repeatInBatches } from "./context";

/**
 * A rotated credential's old secret is refused from its sunset on: delete it in bounded batches
 * through the sunset index, and with it (FK cascade) the refresh tokens it minted.
 */
export async function sweepDeprecatedSecrets(ctx: JobContext): Promise<JobResult> {
  const { d1, now } = ctx;
  const sweep = d1
    .prepare(
      `DELETE FROM deprecated_secrets WHERE id IN
         (SELECT id FROM deprecated_secrets WHERE sunset_at <= ? ORDER BY sunset_at LIMIT ${BATCH_ROWS})`,
    )
    .bind(now.getTime());
  const { changed: deleted, more } = await repeatInBatches(ctx, [sweep]);
  return { deleted, more };
}
