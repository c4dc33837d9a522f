import { sql } from "drizzle-orm";
import { BATCH_ROWS, MAX_BATCHES, type JobContext, type JobResult } from "./context";

/**
 * Deletes API keys that expired more than the retention window ago (expired keys stay listed,
 * marked expired, until then). Each batch writes one audit entry per key, owned by the key's
 * user, and deletes the keys in the same db.batch (one transaction). Both statements select
 * through the partial index on expires_at, so a run costs O(expired rows), never a table scan.
 */
export async function sweepExpiredApiKeys({ db, config, now }: JobContext): Promise<JobResult> {
  const cutoff = now.getTime() - config.apiKeyRetentionMs;
  const batch = sql`SELECT id, user_id, label, expires_at FROM api_keys
    WHERE expires_at < ${cutoff} ORDER BY expires_at LIMIT ${BATCH_ROWS}`;
  let deleted = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const [, result] = await db.batch([
      db.run(sql`INSERT INTO audit_log (at, kind, actor_name, subject_user_id, target_type, target_id, metadata)
        SELECT ${now.getTime()}, 'api_key.sweep', 'keyward', user_id, 'api_key', id,
          json_object('label', label, 'expiredAt', expires_at)
        FROM (${batch})`),
      db.run(sql`DELETE FROM api_keys WHERE id IN (SELECT id FROM (${batch}))`),
    ]);
    const changes = result.meta.changes ?? 0;
    deleted += changes;
    if (changes < BATCH_ROWS) break;
  }
  return { deleted };
}
