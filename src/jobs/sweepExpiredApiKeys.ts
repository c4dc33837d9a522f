import { BATCH_ROWS, type JobContext, type JobResult, repeatInBatches } from "./context";

// The same rows for both statements: they run in one D1 batch (one transaction).
/** The selection, exported so a test can check its query plan. */
export const EXPIRED_API_KEYS = `SELECT id, user_id, label, expires_at FROM api_keys
  WHERE expires_at < ?1 ORDER BY expires_at LIMIT ${BATCH_ROWS}`;

/**
 * Deletes API keys that expired more than the retention window ago (expired keys stay listed,
 * marked expired, until then). Each batch writes one audit entry per key, owned by the key's
 * user, and deletes the keys in the same transaction. Both statements select through the
 * partial index on expires_at, so a run costs O(expired rows), never a table scan.
 */
export async function sweepExpiredApiKeys(ctx: JobContext): Promise<JobResult> {
  const { d1, config, now } = ctx;
  const cutoff = now.getTime() - config.apiKeyRetentionMs;
  const audit = d1
    .prepare(
      `INSERT INTO audit_log (at, kind, actor_name, subject_user_id, target_type, target_id, metadata)
       SELECT ?2, 'api_key.sweep', 'keyward', user_id, 'api_key', id,
         json_object('label', label, 'expiredAt', expires_at)
       FROM (${EXPIRED_API_KEYS})`,
    )
    .bind(cutoff, now.getTime());
  const remove = d1.prepare(`DELETE FROM api_keys WHERE id IN (SELECT id FROM (${EXPIRED_API_KEYS}))`).bind(cutoff);
  const { changed: deleted, more } = await repeatInBatches(ctx, [audit, remove]);
  return { deleted, more };
}
