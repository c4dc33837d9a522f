import { and, asc, eq, ne, or, type SQL, sql } from "drizzle-orm";
import type { Config } from "../config";
import { hashPassword } from "../crypto/password";
import { randomBase62 } from "../crypto/secrets";
import type { Db } from "../db/client";
import { insertWhere } from "../db/conditional";
import { refreshTokens, sessions, type User, users } from "../db/schema";
import { ApiError, badRequest, notFound } from "../errors";
import { type Actor, auditInsert, auditInsertWhere, SYSTEM_ACTOR } from "./audit";

export { USERNAME_PATTERN } from "../domain/names";

const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A username or email that another user has: 409, saying which. */
export class UserConflict extends ApiError {
  constructor(
    readonly field: "username" | "email",
    readonly value: string,
  ) {
    super("conflict", field === "username" ? `User ${value} already exists` : `Email ${value} is already in use`);
  }
}

/** Another user (not `exceptId`) with this email, compared case-insensitively (Kallithea, Quay). */
function emailTaken(email: string, exceptId?: string): SQL {
  const same = sql`lower(${users.email}) = lower(${email})`;
  return sql`EXISTS (SELECT 1 FROM ${users} WHERE ${exceptId ? and(same, ne(users.id, exceptId)) : same})`;
}

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

export async function findUserById(db: Db, id: string): Promise<User | undefined> {
  const rows = await db.select().from(users).where(eq(users.id, id));
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
  firstname?: string | null;
  lastname?: string | null;
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
  // Users are found by id or by name (Kallithea's userid): a name shaped like an id would be
  // mistaken for another user's.
  if (UUID_SHAPE.test(input.username)) throw badRequest("A username cannot have the shape of a user id (a UUID)");
  const generatedPassword = input.password === undefined ? randomBase62(24) : null;
  const password = input.password ?? generatedPassword!;
  const user: User = {
    id: crypto.randomUUID(),
    username: input.username,
    email: input.email ?? null,
    firstname: input.firstname ?? null,
    lastname: input.lastname ?? null,
    passwordHash: hashPassword(password, config.passwordParams),
    enabled: input.enabled ?? true,
    superuser: input.superuser ?? false,
    createdAt: new Date(),
    updatedAt: null,
    lastLoginAt: null,
    lastLoginIp: null,
  };
  // The email check is part of the insert, so two concurrent creations cannot share an email.
  const free = user.email ? sql`NOT ${emailTaken(user.email)}` : sql`1`;
  let inserted: { id: string }[];
  try {
    [inserted] = await db.batch([
      insertWhere(db, users, user, free).returning({ id: users.id }),
      auditInsertWhere(
        db,
        actor,
        {
          kind: "user.create",
          subjectUserId: user.id,
          targetType: "user",
          targetId: user.username,
          metadata: { superuser: user.superuser, enabled: user.enabled },
        },
        sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id})`,
      ),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new UserConflict("username", input.username);
    throw err;
  }
  if (inserted.length === 0) throw new UserConflict("email", user.email!);
  return { user, generatedPassword };
}

export interface UserChanges {
  email?: string | null;
  firstname?: string | null;
  lastname?: string | null;
  password?: string;
  enabled?: boolean;
  superuser?: boolean;
}

export async function updateUser(
  db: Db,
  config: Config,
  actor: Actor,
  username: string,
  changes: UserChanges,
  /** The session that changes its own user's password stays; every other one ends. */
  options: { keepSessionId?: string } = {},
): Promise<User> {
  const user = await getUser(db, username);
  if (user.id === actor.id && (changes.enabled === false || changes.superuser === false)) {
    throw badRequest("You cannot disable or demote yourself");
  }
  const set: Partial<User> = { updatedAt: new Date() };
  if (changes.email !== undefined) set.email = changes.email;
  if (changes.firstname !== undefined) set.firstname = changes.firstname;
  if (changes.lastname !== undefined) set.lastname = changes.lastname;
  if (changes.enabled !== undefined) set.enabled = changes.enabled;
  if (changes.superuser !== undefined) set.superuser = changes.superuser;
  if (changes.password !== undefined) set.passwordHash = hashPassword(changes.password, config.passwordParams);
  // Every statement holds only if the new email is free when the batch runs: a conflict
  // writes nothing (no revoked tokens, no audit row for a change that did not happen).
  const allowed = changes.email ? sql`NOT ${emailTaken(changes.email, user.id)}` : sql`1`;
  const [updated] = await db.batch([
    db
      .update(users)
      .set(set)
      .where(and(eq(users.id, user.id), allowed))
      .returning(),
    // A new password ends the refresh tokens the old one minted (children die with their parent).
    ...(changes.password !== undefined
      ? [db.delete(refreshTokens).where(and(eq(refreshTokens.userId, user.id), eq(refreshTokens.via, "password"), allowed))]
      : []),
    // A new password ends the user's browser sessions too (but the one that changed it).
    ...(changes.password !== undefined
      ? [
          db
            .delete(sessions)
            .where(
              and(
                eq(sessions.userId, user.id),
                options.keepSessionId ? ne(sessions.id, options.keepSessionId) : undefined,
                allowed,
              ),
            ),
        ]
      : []),
    // Disabling a user ends (not pauses) every refresh token carrying their rights.
    ...(changes.enabled === false
      ? [
          db.delete(refreshTokens).where(and(eq(refreshTokens.userId, user.id), allowed)),
          db.delete(sessions).where(and(eq(sessions.userId, user.id), allowed)),
        ]
      : []),
    auditInsertWhere(
      db,
      actor,
      {
        kind: "user.update",
        subjectUserId: user.id,
        targetType: "user",
        targetId: username,
        // Which fields changed (those given); never the password itself.
        metadata: { changed: Object.entries(changes).flatMap(([field, value]) => (value === undefined ? [] : [field])) },
      },
      sql`${allowed} AND EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id})`,
    ),
  ]);
  if (!updated[0]) {
    // Deleted meanwhile by someone else, or the new email is another user's.
    if (changes.email && (await findUser(db, username))) throw new UserConflict("email", changes.email);
    throw notFound(`User ${username} not found`);
  }
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
