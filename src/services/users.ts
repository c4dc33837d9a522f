import { and, asc, eq, or } from "drizzle-orm";
import type { Config } from "../config";
import { hashPassword } from "../crypto/password";
import { randomBase62 } from "../crypto/secrets";
import type { Db } from "../db/client";
import { refreshTokens, type User, users } from "../db/schema";
import { badRequest, conflict, notFound } from "../errors";
import { type Actor, auditInsert, SYSTEM_ACTOR } from "./audit";

export { USERNAME_PATTERN } from "../domain/names";

export function isUniqueViolation(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err);
  return text.includes("UNIQUE constraint failed");
}

let bootstrapped: Promise<void> | undefined;

/**
 * Creates the configured superuser on first start: when neither it nor any other superuser
 * exists (so deleting it for good, once another superuser exists, sticks). Runs once per
 * isolate: one indexed read, and the slow password hash only when the row is missing.
 */
export function ensureBootstrapAdmin(db: Db, config: Config): Promise<void> {
  bootstrapped ??= (async () => {
    const { username, password } = config.admin;
    const existing = await db
      .select({ id: users.id })
      .from(users)
      .where(or(eq(users.username, username), eq(users.superuser, true)))
      .limit(1);
    if (existing.length > 0) return;
    const id = crypto.randomUUID();
    const inserted = await db
      .insert(users)
      .values({
        id,
        username,
        passwordHash: hashPassword(password, config.passwordParams),
        superuser: true,
        createdAt: new Date(),
      })
      .onConflictDoNothing()
      .returning({ id: users.id });
    // Another isolate may have won the race: only the one that inserted records it.
    if (inserted.length > 0) {
      await auditInsert(db, SYSTEM_ACTOR, { kind: "user.bootstrap", subjectUserId: id, targetType: "user", targetId: username });
    }
  })().catch((err) => {
    bootstrapped = undefined;
    throw err;
  });
  return bootstrapped;
}

export async function findUser(db: Db, username: string): Promise<User | undefined> {
  const rows = await db.select().from(users).where(eq(users.username, username));
  return rows[0];
}

export async function getUser(db: Db, username: string): Promise<User> {
  const user = await findUser(db, username);
  if (!user) throw notFound(`User ${username} not found`);
  return user;
}

export function listUsers(db: Db): Promise<User[]> {
  return db.select().from(users).orderBy(asc(users.username));
}

export interface NewUser {
  username: string;
  email?: string | null;
  password?: string;
  superuser?: boolean;
  enabled?: boolean;
}

/** Creates a user; when no password is given, one is generated and returned once. */
export async function createUser(
  db: Db,
  config: Config,
  actor: Actor,
  input: NewUser,
): Promise<{ user: User; generatedPassword: string | null }> {
  const generatedPassword = input.password === undefined ? randomBase62(24) : null;
  const password = input.password ?? generatedPassword!;
  const user: User = {
    id: crypto.randomUUID(),
    username: input.username,
    email: input.email ?? null,
    passwordHash: hashPassword(password, config.passwordParams),
    enabled: input.enabled ?? true,
    superuser: input.superuser ?? false,
    createdAt: new Date(),
    updatedAt: null,
    lastLoginAt: null,
  };
  try {
    await db.batch([
      db.insert(users).values(user),
      auditInsert(db, actor, {
        kind: "user.create",
        subjectUserId: user.id,
        targetType: "user",
        targetId: user.username,
        metadata: { superuser: user.superuser, enabled: user.enabled },
      }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`User ${input.username} already exists`);
    throw err;
  }
  return { user, generatedPassword };
}

export interface UserChanges {
  email?: string | null;
  password?: string;
  enabled?: boolean;
  superuser?: boolean;
}

export async function updateUser(db: Db, config: Config, actor: Actor, username: string, changes: UserChanges): Promise<User> {
  const user = await getUser(db, username);
  if (user.id === actor.id && (changes.enabled === false || changes.superuser === false)) {
    throw badRequest("You cannot disable or demote yourself");
  }
  const set: Partial<User> = { updatedAt: new Date() };
  if (changes.email !== undefined) set.email = changes.email;
  if (changes.enabled !== undefined) set.enabled = changes.enabled;
  if (changes.superuser !== undefined) set.superuser = changes.superuser;
  if (changes.password !== undefined) set.passwordHash = hashPassword(changes.password, config.passwordParams);
  const [updated] = await db.batch([
    db.update(users).set(set).where(eq(users.id, user.id)).returning(),
    // A new password ends the refresh tokens the old one minted (children die with their parent).
    ...(changes.password !== undefined
      ? [db.delete(refreshTokens).where(and(eq(refreshTokens.userId, user.id), eq(refreshTokens.via, "password")))]
      : []),
    // Disabling a user ends (not pauses) every refresh token carrying their rights.
    ...(changes.enabled === false ? [db.delete(refreshTokens).where(eq(refreshTokens.userId, user.id))] : []),
    auditInsert(db, actor, {
      kind: "user.update",
      subjectUserId: user.id,
      targetType: "user",
      targetId: username,
      // Which fields changed; never the password itself.
      metadata: { changed: Object.keys(changes) },
    }),
  ]);
  // Deleted meanwhile by someone else.
  if (!updated[0]) throw notFound(`User ${username} not found`);
  return updated[0];
}

/** Deletes the user; its keys, grants, sessions and refresh tokens go with it (FK cascade). */
export async function deleteUser(db: Db, actor: Actor, username: string): Promise<void> {
  const user = await getUser(db, username);
  if (user.id === actor.id) throw badRequest("You cannot delete yourself");
  await db.batch([
    db.delete(users).where(eq(users.id, user.id)),
    auditInsert(db, actor, { kind: "user.delete", subjectUserId: user.id, targetType: "user", targetId: username }),
  ]);
}

/** Quay's user shape, plus keyward's fields. Never includes the password hash. */
export function userView(user: User) {
  return {
    username: user.username,
    email: user.email,
    verified: true,
    super_user: user.superuser,
    enabled: user.enabled,
    created: user.createdAt.toISOString(),
    last_login: user.lastLoginAt?.toISOString() ?? null,
  };
}
