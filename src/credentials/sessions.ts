import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Config } from "../config";
import { hashSecret, randomBase62 } from "../crypto/secrets";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { insertWhere } from "../db/conditional";
import { type Session, sessions, type User, users } from "../db/schema";
import type { Actor } from "../domain/access";
import { notFound } from "../errors";
import { auditInsertWhere } from "../services/audit";
import { newSecret } from "./issue";
import { LAST_USED_GRANULARITY_MS } from "./use";

/*
 * Browser sessions: one more credential kind of the core. The cookie carries a kss_ secret;
 * the row holds its keyed hash. A new session (and secret) at every sign-in, never reused.
 * The CSRF token is derived from the cookie's value (HMAC under the pepper), so it needs no
 * storage and dies with the session; before sign-in, the cookie holds a random nonce that
 * the sign-in form's token is bound to (login CSRF).
 */

/** The user changed (password, status) between the password check and the session's start. */
export class SessionRefused extends Error {}

export interface SessionMeta {
  userAgent: string | null;
  ip: string | null;
}

/** Starts a session for `user` (who just signed in with a password); the secret is returned once. */
export async function startSession(
  db: Db,
  config: Config,
  actor: Actor,
  user: User,
  meta: SessionMeta,
): Promise<{ secret: string; session: Session }> {
  const now = new Date();
  const { secret, secretHash, pepperVersion } = await newSecret("kss", config);
  const absolute = new Date(now.getTime() + config.sessions.maxMs);
  const session: Session = {
    id: crypto.randomUUID(),
    userId: user.id,
    secretHash,
    pepperVersion,
    createdAt: now,
    signedInAt: now,
    lastUsedAt: now,
    lastUsedIp: meta.ip,
    absoluteExpiresAt: absolute,
    expiresAt: new Date(Math.min(absolute.getTime(), now.getTime() + config.sessions.idleMs)),
    userAgent: meta.userAgent,
    ip: meta.ip,
  };
  // Only while the user exists, is enabled and is unchanged since the password was checked: a
  // password change (or disable) landing between the check and this write must not leave a
  // session opened with the old password (a password re-hash does not touch updated_at).
  const enabled = sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.enabled} = 1
    AND ${users.updatedAt} IS ${user.updatedAt ? user.updatedAt.getTime() : null})`;
  const { inserted } = await batchNamed(db, {
    inserted: insertWhere(db, sessions, session, enabled).returning({ id: sessions.id }),
    audit: auditInsertWhere(
      db,
      { ...actor, id: user.id, name: user.username, credential: "password" },
      { kind: "session.start", subjectUserId: user.id, targetType: "session", targetId: session.id },
      sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${session.id})`,
    ),
  });
  if (inserted.length === 0) throw new SessionRefused();
  return { secret, session };
}

/**
 * Deferred bookkeeping on use, coalesced like lastUsed (at most once a minute): the last use,
 * the idle expiry moved on (never past the absolute one), and a re-hash under a new pepper.
 */
export function touchSession(
  db: Db,
  used: { id: string; lastUsedAt: Date | null; pepperVersion: number; absoluteExpiresAt: Date },
  hashes: string[],
  config: Pick<Config, "peppers" | "sessions">,
  ip: string | null,
  now = new Date(),
) {
  const current = config.peppers.current.version;
  const rehash = used.pepperVersion === current ? null : { secretHash: hashes[0]!, pepperVersion: current };
  const stale = !used.lastUsedAt || now.getTime() - used.lastUsedAt.getTime() >= LAST_USED_GRANULARITY_MS;
  if (!stale && !rehash) return null;
  const expiresAt = new Date(Math.min(used.absoluteExpiresAt.getTime(), now.getTime() + config.sessions.idleMs));
  const threshold = new Date(now.getTime() - LAST_USED_GRANULARITY_MS);
  return db
    .update(sessions)
    .set({ lastUsedAt: now, lastUsedIp: ip, expiresAt, ...(rehash ?? {}) })
    .where(
      and(
        eq(sessions.id, used.id),
        // Never revive a session that has ended meanwhile.
        sql`${sessions.expiresAt} > ${now.getTime()}`,
        rehash ? undefined : or(isNull(sessions.lastUsedAt), lt(sessions.lastUsedAt, threshold)),
      ),
    );
}

/** A password verify (Quay's /api/v1/signin/verify): the session counts as freshly signed in. */
export async function refreshSignIn(db: Db, actor: Actor, sessionId: string, userId: string): Promise<void> {
  const now = new Date();
  await db.batch([
    db.update(sessions).set({ signedInAt: now }).where(eq(sessions.id, sessionId)),
    auditInsertWhere(
      db,
      actor,
      { kind: "session.verify", subjectUserId: userId, targetType: "session", targetId: sessionId },
      sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.id} = ${sessionId})`,
    ),
  ]);
}

/** Ends every session of the user (Quay's sign-out rotates the user's uuid to the same end). */
export async function endAllSessions(db: Db, actor: Actor, userId: string): Promise<number> {
  const { removed } = await batchNamed(db, {
    audit: auditInsertWhere(
      db,
      actor,
      { kind: "session.end_all", subjectUserId: userId, targetType: "user", targetId: userId },
      sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${sessions.userId} = ${userId})`,
    ),
    removed: db.delete(sessions).where(eq(sessions.userId, userId)).returning({ id: sessions.id }),
  });
  return removed.length;
}

/** Ends one session by its secret (a sign-in replacing the session the browser had). */
export async function endSessionBySecret(db: Db, config: Config, secret: string): Promise<void> {
  const hashes = [config.peppers.current, ...(config.peppers.previous ? [config.peppers.previous] : [])];
  for (const pepper of hashes) {
    await db.delete(sessions).where(eq(sessions.secretHash, await hashSecret(secret, pepper)));
  }
}

export function listSessions(db: Db, user: User): Promise<Session[]> {
  return db.select().from(sessions).where(eq(sessions.userId, user.id)).orderBy(sql`${sessions.createdAt} DESC`);
}

/** Revokes one of the user's sessions; someone else's is "not found". */
export async function revokeSession(db: Db, actor: Actor, user: User, id: string): Promise<void> {
  const owned = and(eq(sessions.id, id), eq(sessions.userId, user.id));
  const { removed } = await batchNamed(db, {
    audit: auditInsertWhere(
      db,
      actor,
      { kind: "session.revoke", subjectUserId: user.id, targetType: "session", targetId: id },
      sql`EXISTS (SELECT 1 FROM ${sessions} WHERE ${owned})`,
    ),
    removed: db.delete(sessions).where(owned).returning({ id: sessions.id }),
  });
  if (removed.length === 0) throw notFound(`Session ${id} not found`);
}

/** A fresh random value for the pre-sign-in cookie (not a secret of any kind: it is never stored). */
export const newNonce = () => `n_${randomBase62(32)}`;

/** The CSRF token bound to a cookie value (a session secret or a pre-sign-in nonce). */
export async function csrfTokenFor(cookieValue: string, config: Pick<Config, "peppers">): Promise<string> {
  return hashSecret(`csrf:${cookieValue}`, config.peppers.current);
}
