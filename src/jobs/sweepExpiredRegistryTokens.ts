import { BATCH_ROWS, type JobContext, type JobResult, repeatInBatches } from "./context";

/** The selection, exported so a test can check its query plan. */
export const EXPIRED_REGISTRY_TOKENS = `SELECT id, registry_id, name, created_by_user_id, expires_at FROM registry_tokens
  WHERE expires_at < ?1 ORDER BY expires_at LIMIT ${BATCH_ROWS}`;

/**
 * IONOS deletes registry tokens when they expire; so does keyward, in bounded batches through
 * the expiry index, with one audit entry per token in the same transaction as the delete.
 */
export async function sweepExpiredRegistryTokens(ctx: JobContext): Promise<JobResult> {
  const { d1, now } = ctx;
  const at = now.getTime();
  const audit = d1
    .prepare(
      `INSERT INTO audit_log (at, kind, actor_name, subject_user_id, target_type, target_id, metadata)
       SELECT ?1, 'registry_token.sweep', 'keyward', created_by_user_id, 'registry_token', id,
         json_object('registryId', registry_id, 'name', name, 'expiredAt', expires_at)
       FROM (${EXPIRED_REGISTRY_TOKENS})`,
    )
    .bind(at);
  const remove = d1.prepare(`DELETE FROM registry_tokens WHERE id IN (SELECT id FROM (${EXPIRED_REGISTRY_TOKENS}))`).bind(at);
  const { changed: deleted, more } = await repeatInBatches(ctx, [audit, remove]);
  return { deleted, more };
}
