import { CLOCK_TOLERANCE_SECONDS } from "../crypto/jwt";
import { staleFailuresDelete } from "../services/authFailures";
import { BATCH_ROWS, type JobContext, type JobResult, repeatInBatches } from "./context";

/**
 * Failed-sign-in counters past their memory, in bounded batches through the index on
 * window_start: a spray from many addresses leaves a row per address, and one unbounded
 * DELETE of them all could outlast an invocation.
 */
export async function sweepAuthFailures(ctx: JobContext): Promise<JobResult> {
  const sweep = staleFailuresDelete(ctx.d1, BATCH_ROWS, ctx.now.getTime());
  const { changed: deleted, more } = await repeatInBatches(ctx, [sweep]);
  return { deleted, more };
}

/** Audit entries older than the retention window, oldest first, through the index on `at`. */
export async function trimAuditLog(ctx: JobContext): Promise<JobResult> {
  const { d1, config, now } = ctx;
  const trim = d1
    .prepare(`DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ${BATCH_ROWS})`)
    .bind(now.getTime() - config.auditRetentionMs);
  const { changed: deleted, more } = await repeatInBatches(ctx, [trim]);
  return { deleted, more };
}

/** Spent keyserver jtis past their JWT's exp: a replay would fail the exp check anyway. */
export async function sweepSpentJtis(ctx: JobContext): Promise<JobResult> {
  const { d1, now } = ctx;
  const sweep = d1
    .prepare(
      `DELETE FROM keyserver_jtis WHERE id IN
         (SELECT id FROM keyserver_jtis WHERE expires_at < ? ORDER BY expires_at LIMIT ${BATCH_ROWS})`,
    )
    // The keyserver accepts JWTs up to its clock leeway past exp: keep each jti that long more.
    .bind(now.getTime() - CLOCK_TOLERANCE_SECONDS * 1000);
  const { changed: deleted, more } = await repeatInBatches(ctx, [sweep]);
  return { deleted, more };
}
