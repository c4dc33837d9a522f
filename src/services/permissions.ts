import { and, asc, eq, inArray, type SQLWrapper } from "drizzle-orm";
import type { Db } from "../db/client";
import { publicRepositories, repositoryPermissions, type User } from "../db/schema";
import { notFound } from "../errors";
import { auditInsert, type Actor } from "./audit";

/*
 * Repository permissions (SPEC §2): grants of read/write/admin on a name or glob; every user
 * has admin on `<username>/*`; public repositories give anyone pull. A credential never has
 * more rights than its owner: API-key scopes only narrow.
 */
export const ROLES = ["read", "write", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_ACTIONS: Record<Role, readonly string[]> = {
  read: ["pull"],
  write: ["pull", "push"],
  admin: ["pull", "push", "delete", "*"],
};

/** Glob match where `*` spans any characters, `/` included (`team/*` covers `team/a/b`). */
export function globMatches(pattern: string, name: string): boolean {
  if (pattern === "*") return true;
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === name;
  if (!name.startsWith(parts[0]!) || !name.endsWith(parts.at(-1)!)) return false;
  let at = parts[0]!.length;
  const end = name.length - parts.at(-1)!.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return at <= end;
}

export interface Grant {
  pattern: string;
  role: Role;
}

/** Everything needed to decide access for one caller, loaded once per request. */
export interface AccessContext {
  user: Pick<User, "username" | "superuser"> | null;
  grants: Grant[];
  publicPatterns: string[];
  /** API-key scopes (globs); null = the owner's full rights. */
  keyScopes: string[] | null;
}

/** The actions `ctx` may take on repository `name`, from those requested (never more). */
export function allowedActions(ctx: AccessContext, name: string, requested: string[]): string[] {
  const allowed = new Set<string>();
  if (ctx.publicPatterns.some((p) => globMatches(p, name))) allowed.add("pull");
  if (ctx.user && (ctx.keyScopes === null || ctx.keyScopes.some((s) => globMatches(s, name)))) {
    const roles: Role[] = [];
    if (ctx.user.superuser || name.startsWith(`${ctx.user.username}/`)) roles.push("admin");
    for (const grant of ctx.grants) if (globMatches(grant.pattern, name)) roles.push(grant.role);
    for (const role of roles) for (const action of ROLE_ACTIONS[role]) allowed.add(action);
  }
  return requested.filter((action) => allowed.has(action));
}

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
    .select({ pattern: repositoryPermissions.pattern, role: repositoryPermissions.role, createdAt: repositoryPermissions.createdAt })
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
