import { inArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { authFailures } from "../db/schema";
import { ApiError } from "../errors";
import { type Actor, auditInsert } from "./audit";

/*
 * Failed-sign-in throttling with D1 rows, not the Workers rate-limiting binding: that binding
 * counts every request (not only failures), is per location and eventually consistent, and
 * would let an attacker spread guesses across locations. D1 rows count exactly the failures,
 * everywhere, and are testable in workerd.
 *
 * Three counters, so that guessing someone's password does not lock that someone out:
 * - `pair:<user>:<client>`: the guesser's own budget for one username. LIMITS.pair failures
 *   free, then each failure locks the pair from that failure for 30 s, doubling with every
 *   further failure, at most 15 min. The right password is refused while the pair is locked
 *   (that is what stops the guessing). A success clears the pair: only the password's holder
 *   succeeds.
 * - `user:<user>`: every client's failures for one username, a leaky bucket: LIMITS.user at
 *   once, then one per REFILL_MS.user. When it is full the username is throttled for everyone,
 *   the right password too: the price of stopping a guesser with many addresses, and at a bar
 *   no single address can reach (its pair locks first, and refused attempts count nowhere).
 * - `client:<address>`: every failure from one address, any username or secret (API keys and
 *   tokens have no username), a leaky bucket: LIMITS.client at once, then one per REFILL_MS.client.
 * An IPv6 client is its /64 in both client keys: one host may hold the whole prefix.
 *
 * Columns: `count` is the failures remembered; `window_start` is, for a pair, the time of its
 * last failure, and for a bucket the time at which it will be empty (GCRA's "theoretical
 * arrival time", so that it drains continuously and has no window edge to guess across).
 */

/** Failures allowed before any wait: per (username, client), per username, per client. */
export const LIMITS = { pair: 10, user: 100, client: 50 } as const;
/** A locked pair's wait from its last failure: the first, doubling per failure, the most. */
export const PAIR_DELAY_MS = { first: 30_000, max: 15 * 60_000 } as const;
/** A full bucket lets one more failure through per interval. */
export const REFILL_MS = { user: 5 * 60_000, client: 6_000 } as const;
/**
 * How long a pair remembers failures with no new one: far past the longest delay, so waiting
 * out a lockout buys one guess, not a fresh set of free ones. Past it a row carries no
 * information (a bucket that old has long drained): the sweep's horizon.
 */
export const FAILURE_MEMORY_MS = 6 * 60 * 60_000;

export interface FailureKeys {
  /** An opaque per-username key (a keyed hash), never the name as typed. */
  user?: string;
  client: string;
}

/** A counter's current state, or (from the counting gate) the key it counted this attempt on. */
export type FailureRow = { key: string; windowStart: Date; count: number } | { counted: string };

type Bucket = { key: string; kind: "bucket"; burst: number; refillMs: number };
type Counter = { key: string; kind: "pair" } | Bucket;

/** An IPv6 address as its /64 ("2001:db8:0:1::/64"); anything else as given. */
export function clientGroup(address: string): string {
  if (!address.includes(":") || address.includes(".")) return address;
  const halves = address.toLowerCase().split("::");
  if (halves.length > 2) return address;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves[1] ? halves[1].split(":") : [];
  const zeros = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (zeros < 0) return address;
  const groups = [...head, ...Array<string>(zeros).fill("0"), ...tail];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return address;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(":")}::/64`;
}

function countersOf(keys: FailureKeys): Counter[] {
  const client = clientGroup(keys.client);
  const list: Counter[] = [{ key: `client:${client}`, kind: "bucket", burst: LIMITS.client, refillMs: REFILL_MS.client }];
  if (keys.user) {
    list.push(
      { key: `pair:${keys.user}:${client}`, kind: "pair" },
      { key: `user:${keys.user}`, kind: "bucket", burst: LIMITS.user, refillMs: REFILL_MS.user },
    );
  }
  return list;
}

/** Until when a counter refuses attempts (in the past when it does not). */
function lockedUntil(counter: Counter, row: { windowStart: Date; count: number }): number {
  const at = row.windowStart.getTime();
  if (counter.kind === "bucket") return at - (counter.burst - 1) * counter.refillMs;
  if (row.count < LIMITS.pair) return 0;
  return at + Math.min(PAIR_DELAY_MS.first * 2 ** (row.count - LIMITS.pair), PAIR_DELAY_MS.max);
}

/** lockedUntil in SQL, over the row of `counter.key`. */
function lockedUntilSql(counter: Counter): SQL {
  const { windowStart: at, count } = authFailures;
  if (counter.kind === "bucket") return sql`${at} - ${(counter.burst - 1) * counter.refillMs}`;
  return sql`CASE WHEN ${count} >= ${LIMITS.pair}
    THEN ${at} + min(${PAIR_DELAY_MS.first} << min(${count} - ${LIMITS.pair}, 20), ${PAIR_DELAY_MS.max}) ELSE 0 END`;
}

/** One SQL expression that depends on which counter's row it is evaluated on. */
function perCounter<C extends Counter>(counters: C[], expr: (counter: C) => SQL): SQL {
  const arms = counters.map((c) => sql`WHEN ${c.key} THEN ${expr(c)}`);
  return sql`CASE ${authFailures.key} ${sql.join(arms, sql` `)} END`;
}

/** A new row's window_start: a pair's failure time, or a bucket that holds one failure. */
const firstStart = (c: Counter, now: number) => (c.kind === "pair" ? now : now + c.refillMs);

/** The upsert's update: one more failure, starting over on a forgotten pair or a drained bucket. */
function oneMoreFailure(counters: Counter[], now: number) {
  const { windowStart: at, count } = authFailures;
  return {
    count: perCounter(counters, (c) => {
      const forgotten = c.kind === "pair" ? now - FAILURE_MEMORY_MS : now;
      return sql`CASE WHEN ${at} <= ${forgotten} THEN 1 ELSE ${count} + 1 END`;
    }),
    windowStart: perCounter(counters, (c) => (c.kind === "pair" ? sql`${now}` : sql`max(${at}, ${now}) + ${c.refillMs}`)),
  };
}

/** The read of the current counters, for batching with the credential lookup. */
export function failureCountsQuery(db: Db, keys: FailureKeys) {
  return db
    .select()
    .from(authFailures)
    .where(
      inArray(
        authFailures.key,
        countersOf(keys).map((c) => c.key),
      ),
    );
}

function rateLimited(retryAfterMs: number): ApiError {
  return new ApiError("rate_limited", "Too many failed sign-in attempts; try again later", {
    "Retry-After": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
  });
}

/**
 * Throws 429 with Retry-After. `before` an attempt (rows from failureCountsQuery): when a
 * counter is locked. `after` countAttemptQueries: when its gate did not count this attempt,
 * which is the decision D1 made atomically (re-judging the rows here, a few ms later, could let
 * through an attempt the gate refused just before a lock ended).
 */
export function assertNotThrottled(
  rows: readonly FailureRow[],
  keys: FailureKeys,
  when: "before" | "after",
  now = Date.now(),
): void {
  const counters = countersOf(keys);
  if (when === "after") {
    const counted = new Set(rows.flatMap((r) => ("counted" in r ? [r.counted] : [])));
    if (counters.every((c) => counted.has(c.key))) return;
  }
  let until = 0;
  for (const counter of counters) {
    const row = rows.find((r) => "key" in r && r.key === counter.key);
    if (row && "key" in row) until = Math.max(until, lockedUntil(counter, row));
  }
  if (when === "before" && until <= now) return;
  throw rateLimited(until - now);
}

type AuthFailure = typeof authFailures.$inferSelect;

/**
 * Counts this attempt as a failure before the password is checked, on every counter or on
 * none: an atomic gate, so concurrent guesses cannot pass a stale count, a refused attempt
 * counts nowhere (a locked guesser cannot push the username to its bar), and a throttled
 * guesser makes us burn no KDF. The counters as they stood come first, for Retry-After; the
 * caller checks both with "after", and forgiveAttempt undoes the count on success.
 */
export function countAttemptQueries(db: Db, keys: FailureKeys, now = Date.now()) {
  const counters = countersOf(keys);
  const attempt = sql.join(
    counters.map((c) => sql`(${c.key}, ${firstStart(c, now)}, 1)`),
    sql`, `,
  );
  const locked = sql.join(
    counters.map((c) => sql`(${authFailures.key} = ${c.key} AND ${lockedUntilSql(c)} > ${now})`),
    sql` OR `,
  );
  // The SELECT reads auth_failures, so SQLite runs it to completion before writing: the gate
  // judges every counter as it stood, not as this statement's earlier rows left it.
  const gate = db
    .insert(authFailures)
    .select(
      sql`SELECT column1, column2, column3 FROM (VALUES ${attempt})
        WHERE NOT EXISTS (SELECT 1 FROM ${authFailures} WHERE ${locked})`,
    )
    .onConflictDoUpdate({ target: authFailures.key, set: oneMoreFailure(counters, now) })
    .returning({ counted: authFailures.key });
  return [failureCountsQuery(db, keys), gate] as const;
}

/** Counts a failure known after the fact (a wrong API key or token; no KDF to protect). */
function countFailure(db: Db, keys: FailureKeys, now = Date.now()) {
  const counters = countersOf(keys);
  return db
    .insert(authFailures)
    .values(counters.map((c) => ({ key: c.key, windowStart: new Date(firstStart(c, now)), count: 1 })))
    .onConflictDoUpdate({ target: authFailures.key, set: oneMoreFailure(counters, now) })
    .returning();
}

/** Counts one failure for each key and records it in the audit log, in one batch. */
export async function recordAuthFailure(
  db: Db,
  actor: Actor,
  keys: FailureKeys,
  metadata: Record<string, unknown>,
  about?: FailureSubject,
): Promise<AuthFailure[]> {
  const [counted] = await db.batch([countFailure(db, keys), auditFailure(db, actor, metadata, about)]);
  return counted;
}

/**
 * Whose account or credential a failed attempt was made with, when it names a real one: the
 * entry then shows in that user's own audit log (/api/v1/user/logs) — a leaked key being
 * tried is the owner's business.
 */
export interface FailureSubject {
  userId: string;
  targetType: "user" | "api_key" | "registry_token" | "refresh_token";
  /** The username, or the credential's id: never a secret. */
  targetId: string;
}

/** The audit entry for a failed sign-in; names only a real user or credential, never a secret. */
export function auditFailure(db: Db, actor: Actor, metadata: Record<string, unknown>, about?: FailureSubject) {
  return auditInsert(db, actor, {
    kind: "auth.failed",
    subjectUserId: about?.userId ?? null,
    targetType: about?.targetType ?? "user",
    targetId: about?.targetId,
    metadata,
  });
}

/**
 * After a success, the attempt counted up front was no failure: the buckets get it back (one,
 * not all: a guesser's success with his own account must not wipe his address's record, nor
 * the victim's success other addresses' record against the name), and the pair is cleared (it
 * just proved it holds the password).
 */
export function forgiveAttempt(db: Db, keys: FailureKeys) {
  const counters = countersOf(keys);
  const buckets = counters.filter((c): c is Bucket => c.kind === "bucket");
  const pairs = counters.filter((c) => c.kind === "pair").map((c) => c.key);
  const giveBack = db
    .update(authFailures)
    .set({
      count: sql`max(${authFailures.count} - 1, 0)`,
      windowStart: perCounter(buckets, (c) => sql`${authFailures.windowStart} - ${c.refillMs}`),
    })
    .where(
      inArray(
        authFailures.key,
        buckets.map((c) => c.key),
      ),
    );
  if (pairs.length === 0) return giveBack;
  return db.batch([giveBack, db.delete(authFailures).where(inArray(authFailures.key, pairs))]);
}

/**
 * Cron: one bounded batch of the counters past the memory (they carry no information), oldest
 * first through the index on window_start; the job repeats it within its query budget.
 */
export function staleFailuresDelete(d1: D1Database, rows: number, now = Date.now()): D1PreparedStatement {
  return d1
    .prepare(
      `DELETE FROM auth_failures WHERE key IN
         (SELECT key FROM auth_failures WHERE window_start < ? ORDER BY window_start LIMIT ${rows})`,
    )
    .bind(now - FAILURE_MEMORY_MS);
}
