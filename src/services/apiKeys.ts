import { and, desc, eq, inArray, sql } from "drizzle-orm";
import type { Config } from "../config";
import { newSecret } from "../credentials/issue";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { insertWhere } from "../db/conditional";
import { type ApiKey, apiKeys, type User } from "../db/schema";
import { apiKeyOf, type Lineage } from "../domain/access";
import { globMatches } from "../domain/repositories";
import { deprecatedSecretMay } from "../domain/trust";
import { badRequest, conflict, forbidden, notFound, policyViolation } from "../errors";
import { type Actor, auditInsert, auditInsertWhere } from "./audit";
import { assertWithinPolicy, policyRefusal } from "./policy";

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
  // A rotated key's old secret is on its way out: what it made would outlive it.
  if (caller.deprecated && !deprecatedSecretMay("create_key"))
    throw forbidden("A rotated key's old secret cannot create keys; use the new secret");
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
  await assertWithinPolicy(db, "apiKeys", { createdAt: now, expiresAt: input.expiresAt ?? null });
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
    lastUsedIp: null,
    expiryNotice: null,
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

/** Kallithea's lifetimes are minutes; −1 is "Forever". The longest accepted is 100 years. */
export const FOREVER = -1;
export const MAX_LIFETIME_MINUTES = 100 * 366 * 24 * 60;

export function expiryOfLifetime(lifetimeMinutes: number, now = Date.now()): Date | null {
  return lifetimeMinutes === FOREVER ? null : new Date(now + lifetimeMinutes * 60_000);
}

/**
 * Replaces `owner`'s built-in key (creating it the first time) and returns the new secret
 * once. The old built-in key, the keys made with it and the refresh tokens it minted end at
 * once (FK cascade). Only a credential with the owner's full rights may do it: the built-in
 * key never expires and is never scoped. Of concurrent resets exactly one wins; the others
 * are 409, so no caller holds a secret that was replaced before it was shown.
 */
export async function resetBuiltinApiKey(
  db: Db,
  config: Config,
  actor: Actor,
  owner: User,
  caller: Lineage,
): Promise<{ key: ApiKey; secret: string }> {
  const callerKey = apiKeyOf(caller);
  if (callerKey && (callerKey.scopes || callerKey.expiresAt)) {
    throw forbidden("A key narrowed by scopes or an expiry cannot reset the built-in key, which has neither");
  }
  // The built-in key never expires (SPEC 4.2): under a policy that requires API keys to expire
  // it cannot be made again. An existing one keeps working and is reported.
  if (await policyRefusal(db, "apiKeys", { createdAt: new Date(), expiresAt: null })) {
    throw policyViolation(
      "The lifetime policy requires API keys to expire, and the built-in key never does, so it cannot be reset; create a key with a lifetime instead",
    );
  }
  const mine = and(eq(apiKeys.userId, owner.id), eq(apiKeys.kind, "builtin"));
  const [old] = await db.select({ id: apiKeys.id, parentId: apiKeys.parentId }).from(apiKeys).where(mine);
  // A key that resets the built-in key is its parent, unless it is the built-in key itself. A
  // key made (directly or not) with the built-in key would end with the reset: refused.
  const parentId = !callerKey ? null : callerKey.id === old?.id ? old.parentId : callerKey.id;
  if (callerKey && old && callerKey.id !== old.id && (await descendsFrom(db, callerKey.id, old.id))) {
    throw forbidden(
      "This key was made with the built-in key and would end with it; reset the built-in key with itself or a password",
    );
  }
  const { secret, secretHash, pepperVersion } = await newSecret("zak", config);
  const now = new Date();
  const key: ApiKey = {
    id: crypto.randomUUID(),
    userId: owner.id,
    kind: "builtin",
    parentId,
    label: "Built-in",
    secretHash,
    pepperVersion,
    scopes: null,
    creatorUa: null,
    generatedBy: "manual",
    createdAt: now,
    expiresAt: null,
    lastUsedAt: null,
    lastUsedIp: null,
    expiryNotice: null,
  };
  const replaced = old ? eq(apiKeys.id, old.id) : sql`0`;
  const inserted = await batchNamed(db, {
    removed: db.delete(apiKeys).where(and(mine, replaced)),
    // Only if no other reset got in between (the partial unique index allows one built-in key).
    added: insertWhere(
      db,
      apiKeys,
      key,
      sql`NOT EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${mine})
        AND (${parentId} IS NULL OR EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${apiKeys.id} = ${parentId}))`,
    ).returning({ id: apiKeys.id }),
    audit: auditInsertWhere(
      db,
      actor,
      {
        kind: "api_key.reset_builtin",
        subjectUserId: owner.id,
        targetType: "api_key",
        targetId: key.id,
        metadata: { replaced: old?.id ?? null, parentId },
      },
      sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${apiKeys.id} = ${key.id})`,
    ),
  });
  if (inserted.added.length === 0) throw conflict("The built-in key was reset by another request at the same time; try again");
  return { key, secret };
}

/** Whether key `id` was made, directly or through other keys, with key `ancestor`. */
export async function descendsFrom(db: Db, id: string, ancestor: string): Promise<boolean> {
  const rows = await db.all<{ id: string }>(sql`
    WITH RECURSIVE up(id, parent_id) AS (
      SELECT id, parent_id FROM api_keys WHERE id = ${id}
      UNION SELECT k.id, k.parent_id FROM api_keys k JOIN up ON k.id = up.parent_id
    ) SELECT id FROM up WHERE id = ${ancestor} LIMIT 1`);
  return rows.length > 0;
}

/** The owner of a key, for a superuser acting on someone else's key; null when there is none. */
export async function apiKeyOwnerId(db: Db, id: string): Promise<string | null> {
  const [row] = await db.select({ userId: apiKeys.userId }).from(apiKeys).where(eq(apiKeys.id, id));
  return row?.userId ?? null;
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
