import { inArray, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { authFailures } from "../db/schema";
import { ApiError } from "../errors";
import { auditInsert, type Actor } from "./audit";

/*
 * Failed-authentication throttling with D1 counters (fixed windows), not the Workers
 * rate-limiting binding: that binding counts every request (not only failures), is per
 * location and eventually consistent, and would let an attacker spread guesses across
 * locations. A D1 row per username and per client address counts exactly the failures,
 * everywhere, and is testable in workerd.
 */
export const FAILURE_WINDOW_MS = 5 * 60_000;
export const LIMITS = { user: 10, client: 50 } as const;

export interface FailureKeys {
  /** An opaque per-username key (a keyed hash), never the name as typed. */
  user?: string;
  client: string;
}

function keysOf(keys: FailureKeys): { key: string; limit: number }[] {
  const list: { key: string; limit: number }[] = [{ key: `client:${keys.client}`, limit: LIMITS.client }];
  if (keys.user) list.push({ key: `user:${keys.user}`, limit: LIMITS.user });
  return list;
}

/** The read of the current counters, for batching with the credential lookup. */
export function failureCountsQuery(db: Db, keys: FailureKeys) {
  return db
    .select()
    .from(authFailures)
    .where(inArray(authFailures.key, keysOf(keys).map((k) => k.key)));
}

/**
 * Throws 429 (with Retry-After) when a counter in its current window has reached its limit
 * (`before` an attempt) or gone past it (after counting a failure).
 */
export function assertNotThrottled(
  rows: { key: string; windowStart: Date; count: number }[],
  keys: FailureKeys,
  when: "before" | "after",
  now = Date.now(),
): void {
  for (const { key, limit } of keysOf(keys)) {
    const row = rows.find((r) => r.key === key);
    if (!row) continue;
    const windowEnd = row.windowStart.getTime() + FAILURE_WINDOW_MS;
    if (windowEnd > now && (when === "before" ? row.count >= limit : row.count > limit)) {
      const retryAfter = Math.ceil((windowEnd - now) / 1000);
      throw new ApiError("rate_limited", "Too many failed sign-in attempts; try again later", {
        "Retry-After": String(retryAfter),
      });
    }
  }
}

type AuthFailure = typeof authFailures.$inferSelect;

/**
 * Counts one attempt per key (an upsert that returns the new count), so concurrent guesses
 * cannot all read a stale count: the caller checks the returned rows with "after".
 */
export function countAttemptQueries(db: Db, keys: FailureKeys, now = Date.now()) {
  const stale = now - FAILURE_WINDOW_MS;
  return keysOf(keys).map(({ key }) =>
    db
      .insert(authFailures)
      .values({ key, windowStart: new Date(now), count: 1 })
      .onConflictDoUpdate({
        target: authFailures.key,
        set: {
          count: sql`CASE WHEN ${authFailures.windowStart} <= ${stale} THEN 1 ELSE ${authFailures.count} + 1 END`,
          windowStart: sql`CASE WHEN ${authFailures.windowStart} <= ${stale} THEN ${now} ELSE ${authFailures.windowStart} END`,
        },
      })
      .returning(),
  );
}

/** Counts one failure for each key and records it in the audit log, in one batch. */
export async function recordAuthFailure(
  db: Db,
  actor: Actor,
  keys: FailureKeys,
  metadata: Record<string, unknown>,
): Promise<AuthFailure[]> {
  const [first, ...rest] = countAttemptQueries(db, keys);
  const results = await db.batch([first!, ...rest, auditFailure(db, actor, undefined, metadata)]);
  return results.slice(0, 1 + rest.length).flat() as AuthFailure[];
}

/** The audit entry for a failed sign-in; names only a well-formed username, never a secret. */
export function auditFailure(db: Db, actor: Actor, username: string | undefined, metadata: Record<string, unknown>) {
  return auditInsert(db, actor, { kind: "auth.failed", targetType: "user", targetId: username, metadata });
}

/** After a success: the attempt counted up front was no failure. */
export function forgiveAttempt(db: Db, keys: FailureKeys) {
  const decrement = db
    .update(authFailures)
    .set({ count: sql`max(${authFailures.count} - 1, 0)` })
    .where(inArray(authFailures.key, [`client:${keys.client}`]));
  if (!keys.user) return decrement;
  return db.batch([decrement, db.delete(authFailures).where(inArray(authFailures.key, [`user:${keys.user}`]))]);
}

/** Cron: counters whose window has passed carry no information. */
export function sweepStaleFailures(db: Db, now = Date.now()) {
  return db.delete(authFailures).where(lt(authFailures.windowStart, new Date(now - FAILURE_WINDOW_MS)));
}
