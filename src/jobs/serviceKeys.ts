import { retireSupersededSigningKeys, rotateSigningKeysIfDue } from "../services/signingKeys";
import { BATCH_ROWS, type JobContext, type JobResult, repeatInBatches } from "./context";

const DAY_MS = 86_400_000;
/** Quay's rules, which Quay itself only applied when other keys changed. */
export const EXPIRED_KEY_GRACE_MS = 7 * DAY_MS;
export const UNAPPROVED_KEY_TTL_MS = 1 * DAY_MS;

// The selections, exported so a test can check their query plans use the partial indexes.
export const EXPIRED_SERVICE_KEYS = `SELECT kid, service FROM service_keys
  WHERE expires_at < ?1 ORDER BY expires_at LIMIT ${BATCH_ROWS}`;
export const UNAPPROVED_SERVICE_KEYS = `SELECT kid, service FROM service_keys
  WHERE approved_at IS NULL AND created_at < ?1 ORDER BY created_at LIMIT ${BATCH_ROWS}`;
export const OVERDUE_SERVICE_KEYS = `SELECT kid, service FROM service_keys
  WHERE rotation_duration_s IS NOT NULL AND flagged_at IS NULL AND created_at + rotation_duration_s * 1000 < ?1
  ORDER BY created_at LIMIT ${BATCH_ROWS}`;

/** Cron: a new keyward signing key ahead of the current one's end (old keys stay published). */
export async function rotateSigningKeys({ db, config, now }: JobContext): Promise<JobResult> {
  const created = await rotateSigningKeysIfDue(db, config, now);
  return { created: created ? 1 : 0 };
}

/**
 * Cron: keys a newer keyward key replaced (by rotation or rotate-now) leave the JWKS once every
 * token they signed has expired.
 */
export async function retireSigningKeys({ db, config, now }: JobContext): Promise<JobResult> {
  return { retired: await retireSupersededSigningKeys(db, config, now) };
}

/** Deletes `selection` rows in bounded batches, one audit entry per key, atomically per batch. */
async function deleteKeysInBatches(ctx: JobContext, selection: string, params: unknown[], reason: string, at: number) {
  const { d1 } = ctx;
  const audit = d1
    .prepare(
      `INSERT INTO audit_log (at, kind, actor_name, target_type, target_id, metadata)
       SELECT ?${params.length + 1}, 'service_key.gc', 'keyward', 'service_key', kid,
         json_object('service', service, 'reason', '${reason}')
       FROM (${selection})`,
    )
    .bind(...params, at);
  const remove = d1.prepare(`DELETE FROM service_keys WHERE kid IN (SELECT kid FROM (${selection}))`).bind(...params);
  return repeatInBatches(ctx, [audit, remove]);
}

/**
 * Cron: expired keys go 7 days after expiry, unapproved keys 1 day after creation, and keys
 * past their rotation_duration are flagged once in the audit log. Each selection goes through
 * a partial index, so a run costs O(rows it acts on).
 */
export async function gcServiceKeys(ctx: JobContext): Promise<JobResult> {
  const { d1, now } = ctx;
  const at = now.getTime();
  const expired = await deleteKeysInBatches(ctx, EXPIRED_SERVICE_KEYS, [at - EXPIRED_KEY_GRACE_MS], "expired", at);
  const unapproved = await deleteKeysInBatches(ctx, UNAPPROVED_SERVICE_KEYS, [at - UNAPPROVED_KEY_TTL_MS], "unapproved", at);
  // The pending set (rotation_duration set, not yet flagged) is walked through its partial
  // index; it shrinks as keys are flagged, so a run reads only keys that may be due.
  const overdue = OVERDUE_SERVICE_KEYS;
  const [flagAudit, flag] = [
    d1
      .prepare(
        `INSERT INTO audit_log (at, kind, actor_name, target_type, target_id, metadata)
         SELECT ?1, 'service_key.rotation_overdue', 'keyward', 'service_key', kid, json_object('service', service)
         FROM (${overdue})`,
      )
      .bind(at),
    d1.prepare(`UPDATE service_keys SET flagged_at = ?1 WHERE kid IN (SELECT kid FROM (${overdue}))`).bind(at),
  ];
  const flagged = await repeatInBatches(ctx, [flagAudit, flag]);
  return {
    expired: expired.changed,
    unapproved: unapproved.changed,
    flagged: flagged.changed,
    more: Math.max(expired.more, unapproved.more, flagged.more),
  };
}
