import { BATCH_ROWS, MAX_BATCHES, type JobContext, type JobResult } from "./context";

/** Expired refresh tokens are useless: delete them in bounded batches through the expiry index. */
export async function sweepExpiredRefreshTokens({ d1, now }: JobContext): Promise<JobResult> {
  const sweep = d1
    .prepare(
      `DELETE FROM refresh_tokens WHERE id IN
         (SELECT id FROM refresh_tokens WHERE expires_at < ? ORDER BY expires_at LIMIT ${BATCH_ROWS})`,
    )
    .bind(now.getTime());
  let deleted = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const changes = (await sweep.run()).meta.changes ?? 0;
    deleted += changes;
    if (changes < BATCH_ROWS) break;
  }
  return { deleted };
}
