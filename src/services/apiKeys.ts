import { and, desc, eq, inArray, isNull, lt, or } from "drizzle-orm";
import type { Config } from "../config";
import { generateSecret, hashSecret } from "../crypto/secrets";
import type { Db } from "../db/client";
import { apiKeys, users, type ApiKey, type User } from "../db/schema";
import type { Principal } from "../auth/principal";
import { badRequest, forbidden, notFound } from "../errors";
import { globMatches } from "./permissions";
import { auditInsert, type Actor } from "./audit";

/** lastUsed is written at most once per key per this interval (SPEC §4.1). */
export const LAST_USED_GRANULARITY_MS = 60_000;

export interface NewApiKey {
  label: string;
  scopes?: string[] | null;
  expiresAt?: Date | null;
  creatorUa?: string | null;
  kind?: ApiKey["kind"];
}

/**
 * A key never begets a wider key (SPEC §2: scopes only narrow): a key made while signed in
 * with a scoped or expiring key stays within its scopes and ends no later than it. Omitted
 * scopes or expiry are inherited.
 */
export function narrowToCallerKey(caller: Principal["apiKey"], input: NewApiKey): NewApiKey {
  if (!caller) return input;
  let { scopes, expiresAt } = input;
  if (caller.scopes) {
    if (!scopes || scopes.length === 0) scopes = caller.scopes;
    else if (!scopes.every((s) => caller.scopes!.some((mine) => globMatches(mine, s)))) {
      throw forbidden("A key can only create keys within its own scopes");
    }
  }
  if (caller.expiresAt) {
    if (!expiresAt) expiresAt = caller.expiresAt;
    else if (expiresAt.getTime() > caller.expiresAt.getTime()) {
      throw forbidden("A key can only create keys that expire no later than itself");
    }
  }
  return { ...input, scopes, expiresAt };
}

/** Creates a key for `owner`; the secret is in the result and nowhere else. */
export async function createApiKey(
  db: Db,
  config: Config,
  actor: Actor,
  owner: User,
  input: NewApiKey,
): Promise<{ key: ApiKey; secret: string }> {
  const now = new Date();
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) {
    throw badRequest("expirationDate must be in the future");
  }
  const secret = generateSecret("zak");
  const pepper = config.peppers.current;
  const key: ApiKey = {
    id: crypto.randomUUID(),
    userId: owner.id,
    kind: input.kind ?? "zot",
    label: input.label,
    secretHash: await hashSecret(secret, pepper),
    pepperVersion: pepper.version,
    scopes: input.scopes && input.scopes.length > 0 ? input.scopes : null,
    creatorUa: input.creatorUa ?? null,
    generatedBy: "manual",
    createdAt: now,
    expiresAt: input.expiresAt ?? null,
    lastUsedAt: null,
  };
  await db.batch([
    db.insert(apiKeys).values(key),
    auditInsert(db, actor, {
      kind: "api_key.create",
      subjectUserId: owner.id,
      targetType: "api_key",
      targetId: key.id,
      metadata: { label: key.label, kind: key.kind, scopes: key.scopes, expiresAt: key.expiresAt?.toISOString() ?? null },
    }),
  ]);
  return { key, secret };
}

export function listApiKeys(db: Db, owner: User, kinds?: ApiKey["kind"][]): Promise<ApiKey[]> {
  const byOwner = eq(apiKeys.userId, owner.id);
  return db
    .select()
    .from(apiKeys)
    .where(kinds ? and(byOwner, inArray(apiKeys.kind, kinds)) : byOwner)
    .orderBy(desc(apiKeys.createdAt));
}

/** Revokes (deletes) one of `owner`'s keys; someone else's key is "not found", not "forbidden". */
export async function revokeApiKey(db: Db, actor: Actor, owner: User, id: string): Promise<void> {
  const owned = and(eq(apiKeys.id, id), eq(apiKeys.userId, owner.id));
  const [key] = await db.select({ label: apiKeys.label, kind: apiKeys.kind }).from(apiKeys).where(owned);
  if (!key) throw notFound(`API key ${id} not found`);
  await db.batch([
    db.delete(apiKeys).where(owned),
    auditInsert(db, actor, {
      kind: "api_key.revoke",
      subjectUserId: owner.id,
      targetType: "api_key",
      targetId: id,
      metadata: { label: key.label, kind: key.kind },
    }),
  ]);
}

export function isExpired(key: Pick<ApiKey, "expiresAt">, now = Date.now()): boolean {
  return key.expiresAt !== null && key.expiresAt.getTime() <= now;
}

export interface VerifiedKey {
  key: Pick<ApiKey, "id" | "scopes" | "expiresAt" | "lastUsedAt" | "pepperVersion">;
  user: User;
  /** Set when the key was hashed under the previous pepper: re-hash it under the current one. */
  rehash: { secretHash: string; pepperVersion: number } | null;
}

/**
 * The hot path: one indexed read resolves a key and its owner by the secret's HMAC under each
 * configured pepper. Returned as a query so the caller can batch it with other reads.
 */
export function apiKeyLookupQuery(db: Db, hashes: string[]) {
  return db
    .select({
      id: apiKeys.id,
      scopes: apiKeys.scopes,
      expiresAt: apiKeys.expiresAt,
      lastUsedAt: apiKeys.lastUsedAt,
      pepperVersion: apiKeys.pepperVersion,
      // Spelled out so no column name repeats (users.id is api_keys.user_id): D1 batches
      // return rows as objects, and repeated names would shift Drizzle's mapping.
      user: {
        id: apiKeys.userId,
        username: users.username,
        email: users.email,
        passwordHash: users.passwordHash,
        enabled: users.enabled,
        superuser: users.superuser,
        createdAt: users.createdAt,
        updatedAt: users.updatedAt,
        lastLoginAt: users.lastLoginAt,
      },
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(inArray(apiKeys.secretHash, hashes))
    .limit(1);
}

type LookupRow = Awaited<ReturnType<typeof apiKeyLookupQuery>>[number];

/** `hashes` as given to apiKeyLookupQuery: the current pepper's first. */
export function toVerifiedKey(row: LookupRow | undefined, hashes: string[], config: Config): VerifiedKey | null {
  if (!row) return null;
  const { user, ...key } = row;
  const current = config.peppers.current;
  const rehash = key.pepperVersion === current.version ? null : { secretHash: hashes[0]!, pepperVersion: current.version };
  return { key, user, rehash };
}

/**
 * Deferred bookkeeping after a key was used: lastUsed at most once a minute per key (the
 * WHERE makes concurrent writers no-ops), and a re-hash under the current pepper.
 */
export function recordApiKeyUse(db: Db, verified: VerifiedKey, now = new Date()): Promise<unknown> | null {
  const stale = !verified.key.lastUsedAt || now.getTime() - verified.key.lastUsedAt.getTime() >= LAST_USED_GRANULARITY_MS;
  if (!stale && !verified.rehash) return null;
  const threshold = new Date(now.getTime() - LAST_USED_GRANULARITY_MS);
  return db
    .update(apiKeys)
    .set({ lastUsedAt: now, ...(verified.rehash ?? {}) })
    .where(
      and(
        eq(apiKeys.id, verified.key.id),
        verified.rehash ? undefined : or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, threshold)),
      ),
    );
}
