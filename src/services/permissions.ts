import { and, asc, eq, inArray, type SQLWrapper } from "drizzle-orm";
import type { Db } from "../db/client";
import { publicRepositories, repositoryPermissions, type User } from "../db/schema";
import type { Role } from "../domain/access";
import { notFound } from "../errors";
import { type Actor, auditInsert } from "./audit";

/*
 * Repository permissions (SPEC §2): grants of read/write/admin on a name or glob; every user
 * has admin on `<username>/*`; public repositories give anyone pull. The decisions themselves
 * are pure functions in domain/decisions.ts; this module reads and writes the rows.
 */
export { type Grant, ROLE_ACTIONS, ROLES, type Role } from "../domain/access";

/** A user's grants; `userId` may be a subquery, so they load in the credential's round trip. */
export function grantsQuery(db: Db, userId: string | SQLWrapper) {
  return db
    .select({ pattern: repositoryPermissions.pattern, role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .where(typeof userId === "string" ? eq(repositoryPermissions.userId, userId) : inArray(repositoryPermissions.userId, userId));
}

export function publicPatternsQuery(db: Db) {
  return db.select({ pattern: publicRepositories.pattern }).from(publicRepositories);
}

export function listGrants(db: Db, userId: string) {
  return db
    .select({
      pattern: repositoryPermissions.pattern,
      role: repositoryPermissions.role,
      createdAt: repositoryPermissions.createdAt,
    })
    .from(repositoryPermissions)
    .where(eq(repositoryPermissions.userId, userId))
    .orderBy(asc(repositoryPermissions.pattern));
}

export async function setGrant(db: Db, actor: Actor, user: User, pattern: string, role: Role) {
  await db.batch([
    db
      .insert(repositoryPermissions)
      .values({ userId: user.id, pattern, role, createdAt: new Date() })
      .onConflictDoUpdate({ target: [repositoryPermissions.userId, repositoryPermissions.pattern], set: { role } }),
    auditInsert(db, actor, {
      kind: "permission.set",
      subjectUserId: user.id,
      targetType: "repository",
      targetId: pattern,
      metadata: { username: user.username, role },
    }),
  ]);
}

export async function removeGrant(db: Db, actor: Actor, user: User, pattern: string) {
  const owned = and(eq(repositoryPermissions.userId, user.id), eq(repositoryPermissions.pattern, pattern));
  const [existing] = await db.select().from(repositoryPermissions).where(owned);
  if (!existing) throw notFound(`${user.username} has no grant on ${pattern}`);
  await db.batch([
    db.delete(repositoryPermissions).where(owned),
    auditInsert(db, actor, {
      kind: "permission.remove",
      subjectUserId: user.id,
      targetType: "repository",
      targetId: pattern,
      metadata: { username: user.username },
    }),
  ]);
}

export function listPublicRepositories(db: Db) {
  return db.select().from(publicRepositories).orderBy(asc(publicRepositories.pattern));
}

export async function setPublic(db: Db, actor: Actor, pattern: string, isPublic: boolean) {
  if (!isPublic) {
    const [existing] = await db.select().from(publicRepositories).where(eq(publicRepositories.pattern, pattern));
    if (!existing) throw notFound(`${pattern} is not public`);
  }
  await db.batch([
    isPublic
      ? db.insert(publicRepositories).values({ pattern, createdAt: new Date() }).onConflictDoNothing()
      : db.delete(publicRepositories).where(eq(publicRepositories.pattern, pattern)),
    auditInsert(db, actor, {
      kind: isPublic ? "repository.public" : "repository.private",
      targetType: "repository",
      targetId: pattern,
    }),
  ]);
}
