import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Config } from "../config";
import { newSecret } from "../credentials/issue";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { type ApiKey, apiKeys, type User } from "../db/schema";
import { apiKeyOf, type Lineage } from "../domain/access";
import { globMatches } from "../domain/repositories";
import { badRequest, forbidden, notFound } from "../errors";
import { type Actor, auditInsert, auditInsertWhere } from "./audit";

export interface NewApiKey {
  label: string;
  scopes?: string[] | null;
  expiresAt?: Date | null;
  creatorUa?: string | null;
  kind?: ApiKey["kind"];
  /** The key the caller signed in with, if any: the new key dies with it. */
  parentId?: string | null;
}

/**
 * A key never begets a wider key (SPEC §2: scopes only narrow): a key made while signed in
 * with a scoped or expiring key stays within its scopes and ends no later than it. Omitted
 * scopes or expiry are inherited, and the new key is the caller's child: revoking the caller
 * revokes it (FK cascade).
 */
/** Whether every glob of `scopes` (null: everything) lies within one of `mine`. */
function withinScopes(scopes: string[] | null, mine: string[]): boolean {
  return scopes !== null && scopes.length > 0 && scopes.every((s) => mine.some((m) => globMatches(m, s)));
}

export function narrowToCallerKey(lineage: Lineage, input: NewApiKey): NewApiKey {
  const caller = apiKeyOf(lineage);
  if (!caller) return input;
  const parentId = caller.id;
  let { scopes, expiresAt } = input;
  if (caller.scopes) {
    if (!scopes || scopes.length === 0) scopes = caller.scopes;
    else if (!withinScopes(scopes, caller.scopes)) {
      throw forbidden("A key can only create keys within its own scopes");
    }
  }
  if (caller.expiresAt) {
    if (!expiresAt) expiresAt = caller.expiresAt;
    else if (expiresAt.getTime() > caller.expiresAt.getTime()) {
      throw forbidden("A key can only create keys that expire no later than itself");
    }
  }
  return { ...input, scopes, expiresAt, parentId };
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
  const { secret, secretHash, pepperVersion } = await newSecret("zak", config);
  const key: ApiKey = {
    id: crypto.randomUUID(),
    userId: owner.id,
    kind: input.kind ?? "zot",
    parentId: input.parentId ?? null,
    label: input.label,
    secretHash,
    pepperVersion,
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
      metadata: {
        label: key.label,
        kind: key.kind,
        scopes: key.scopes,
        expiresAt: key.expiresAt?.toISOString() ?? null,
        parentId: key.parentId,
      },
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

/**
 * Revokes (deletes) one of `owner`'s keys, and with it every refresh token it minted (FK
 * cascade). Someone else's key is "not found", not "forbidden". Of concurrent revokes of one
 * key exactly one succeeds and writes the one audit row; the others are 404.
 */
export async function revokeApiKey(db: Db, actor: Actor, owner: User, id: string, caller?: Lineage): Promise<void> {
  const owned = and(eq(apiKeys.id, id), eq(apiKeys.userId, owner.id));
  const [key] = await db.select({ label: apiKeys.label, kind: apiKeys.kind, scopes: apiKeys.scopes }).from(apiKeys).where(owned);
  if (!key) throw notFound(`API key ${id} not found`);
  // A scoped key manages only what it could have made: itself and keys within its scopes.
  const callerKey = caller && apiKeyOf(caller);
  if (callerKey?.scopes && callerKey.id !== id && !withinScopes(key.scopes, callerKey.scopes)) {
    throw forbidden("A key can only revoke keys within its own scopes");
  }
  const { removed } = await batchNamed(db, {
    audit: auditInsertWhere(
      db,
      actor,
      {
        kind: "api_key.revoke",
        subjectUserId: owner.id,
        targetType: "api_key",
        targetId: id,
        metadata: { label: key.label, kind: key.kind },
      },
      sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${owned})`,
    ),
    removed: db.delete(apiKeys).where(owned).returning({ id: apiKeys.id }),
  });
  if (removed.length === 0) throw notFound(`API key ${id} not found`);
}

export function isExpired(key: Pick<ApiKey, "expiresAt">, now = Date.now()): boolean {
  return key.expiresAt !== null && key.expiresAt.getTime() <= now;
}
