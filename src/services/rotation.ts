import { and, asc, eq, gt, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { Config } from "../config";
import { newSecret } from "../credentials/issue";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { insertWhere } from "../db/conditional";
import {
  type ApiKey,
  apiKeys,
  type DeprecatedSecret,
  deprecatedSecrets,
  type RegistryToken,
  refreshTokens,
  registryTokens,
  type User,
} from "../db/schema";
import { apiKeyOf, type Lineage, type Principal } from "../domain/access";
import { deprecatedSecretMay } from "../domain/trust";
import { conflict, forbidden, notFound } from "../errors";
import { eventInserts } from "../webhooks/outbox";
import { descendsFrom } from "./apiKeys";
import { type Actor, auditInsertWhere } from "./audit";

/*
 * Rotation with a grace period, for API keys and registry tokens. The credential keeps its id,
 * name, scopes and expiry and gets a new secret, shown once; its old secret moves to
 * deprecated_secrets and keeps authenticating as the credential until its sunset (each
 * response says so: Deprecation and Sunset headers), then it is refused and the cron deletes
 * it. Refresh tokens the old secret minted are re-pointed at it, so they end with it. A grace
 * period of 0 ends the old secret at once. The whole change is one db.batch, conditioned on the
 * old secret still being current: of concurrent rotations exactly one wins.
 *
 * The lifetime policy is not asked: a rotation keeps the credential's creation and expiry, so
 * it sets no new lifetime, and an existing violator may rotate a leaked or aging secret without
 * first being brought within the policy (the report still lists it until it expires).
 */

/** The longest grace period: 7 days. */
export const MAX_GRACE_SECONDS = 604_800;

export type CredentialTable = typeof apiKeys | typeof registryTokens;

/** The deprecated secrets that still work, as listings show them (never the secret or its hash). */
export interface DeprecatedView {
  id: string;
  deprecatedAt: string;
  sunsetAt: string;
  lastUsedAt: string | null;
  lastUsedIp: string | null;
}

export function deprecatedView(d: DeprecatedSecret): DeprecatedView {
  return {
    id: d.id,
    deprecatedAt: d.createdAt.toISOString(),
    sunsetAt: d.sunsetAt.toISOString(),
    lastUsedAt: d.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: d.lastUsedIp,
  };
}

/**
 * Whether `caller` may rotate (or end an old secret of) API key `key` of its own user: a
 * password or a session may, for any of them; an API key for itself and the keys made with it
 * (they die with it, and so does a new secret of theirs) — never a wider or longer-lived key. A
 * deprecated secret rotates nothing: it is on its way out, and a new secret from it would
 * outlive it (ending an old secret, it may).
 */
export async function apiKeyRotationRefusal(
  db: Db,
  caller: Lineage,
  keyId: string,
  action: "rotate" | "end",
): Promise<string | null> {
  const callerKey = apiKeyOf(caller);
  if (!callerKey) return null;
  if (callerKey.deprecated && !deprecatedSecretMay(action === "rotate" ? "rotate" : "end_old_secret"))
    return "A rotated key's old secret cannot rotate keys; use the new secret";
  if (callerKey.id === keyId || (await descendsFrom(db, keyId, callerKey.id))) return null;
  return "A key can rotate only itself and the keys made with it";
}

interface RotationPlan<T extends CredentialTable> {
  table: T;
  /** deprecated_secrets' column for this kind, and refresh_tokens' column for the parent. */
  deprecatedColumn: "apiKeyId" | "registryTokenId";
  refreshColumn: typeof refreshTokens.apiKeyId | typeof refreshTokens.registryTokenId;
  existing: { id: string; secretHash: string; pepperVersion: number; lastUsedAt: Date | null; lastUsedIp: string | null };
  /** Further columns the rotation sets (a registry token's updatedBy…). */
  set: Partial<Pick<typeof registryTokens.$inferInsert, "updatedAt" | "updatedBy" | "updatedByUserId">>;
  audit: { kind: string; subjectUserId: string; metadata: Record<string, unknown> };
  event: Record<string, unknown>;
}

/** One rotation, as one batch; null when another change to the secret got in first. */
async function rotate<T extends CredentialTable>(
  db: Db,
  actor: Actor,
  plan: RotationPlan<T>,
  secret: { secretHash: string; pepperVersion: number },
  graceSeconds: number,
): Promise<{ row: T["$inferSelect"]; deprecated: DeprecatedSecret | null } | null> {
  const t = plan.table as typeof apiKeys;
  const { existing } = plan;
  const now = new Date();
  // Every statement holds only while the old secret is still the credential's current one.
  const current: SQL = sql`EXISTS (SELECT 1 FROM ${t} WHERE ${t.id} = ${existing.id} AND ${t.secretHash} = ${existing.secretHash})`;
  const deprecated: DeprecatedSecret | null =
    graceSeconds > 0
      ? {
          id: crypto.randomUUID(),
          apiKeyId: null,
          registryTokenId: null,
          [plan.deprecatedColumn]: existing.id,
          secretHash: existing.secretHash,
          pepperVersion: existing.pepperVersion,
          createdAt: now,
          sunsetAt: new Date(now.getTime() + graceSeconds * 1000),
          // The old secret's last use so far is what the credential recorded until now.
          lastUsedAt: existing.lastUsedAt,
          lastUsedIp: existing.lastUsedIp,
        }
      : null;
  const mintedByOld = and(eq(plan.refreshColumn, existing.id), isNull(refreshTokens.deprecatedSecretId), current);
  const metadata = {
    ...plan.audit.metadata,
    gracePeriodSeconds: graceSeconds,
    sunsetAt: deprecated?.sunsetAt.toISOString() ?? null,
    deprecatedSecretId: deprecated?.id ?? null,
  };
  const r = await batchNamed(db, {
    audit: auditInsertWhere(
      db,
      actor,
      {
        kind: plan.audit.kind,
        subjectUserId: plan.audit.subjectUserId,
        targetType: kindOf(plan),
        targetId: existing.id,
        metadata,
      },
      current,
      now,
    ),
    event: eventInserts(
      db,
      {
        type: "credential.rotated",
        data: { ...plan.event, sunsetAt: metadata.sunsetAt, deprecatedSecretId: metadata.deprecatedSecretId },
      },
      { condition: current, at: now },
    ),
    old: deprecated ? [insertWhere(db, deprecatedSecrets, deprecated, current)] : [],
    // What the old secret minted ends with it: at its sunset, or now.
    refresh: deprecated
      ? db.update(refreshTokens).set({ deprecatedSecretId: deprecated.id }).where(mintedByOld)
      : db.delete(refreshTokens).where(mintedByOld),
    updated: db
      .update(t)
      // The two tables' shared columns; apiKeys stands for both in the types.
      .set({ ...(plan.set as object), ...secret, lastUsedAt: null, lastUsedIp: null })
      .where(and(eq(t.id, existing.id), eq(t.secretHash, existing.secretHash)))
      .returning(),
  });
  const row = r.updated[0] as T["$inferSelect"] | undefined;
  return row ? { row, deprecated } : null;
}

const kindOf = (plan: RotationPlan<CredentialTable>) => (plan.deprecatedColumn === "apiKeyId" ? "api_key" : "registry_token");

const RACED = () => conflict("The secret was changed by another request at the same time; try again");

/** Rotates one of `owner`'s API keys (someone else's is "not found"). */
export async function rotateApiKey(
  db: Db,
  config: Config,
  actor: Actor,
  owner: User,
  caller: Lineage,
  id: string,
  graceSeconds: number,
): Promise<{ key: ApiKey; secret: string; deprecated: DeprecatedSecret | null }> {
  const [key] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.id, id), eq(apiKeys.userId, owner.id)));
  if (!key) throw notFound(`API key ${id} not found`);
  const refusal = await apiKeyRotationRefusal(db, caller, key.id, "rotate");
  if (refusal) throw forbidden(refusal);
  const { secret, ...stored } = await newSecret("zak", config);
  const rotated = await rotate(
    db,
    actor,
    {
      table: apiKeys,
      deprecatedColumn: "apiKeyId",
      refreshColumn: refreshTokens.apiKeyId,
      existing: key,
      set: {},
      audit: { kind: "api_key.rotate", subjectUserId: owner.id, metadata: { label: key.label, kind: key.kind } },
      event: { kind: "api_key", id: key.id, label: key.label, ownerId: owner.id, owner: owner.username },
    },
    stored,
    graceSeconds,
  );
  if (!rotated) throw RACED();
  return { key: rotated.row, secret, deprecated: rotated.deprecated };
}

/**
 * Rotates a registry token. Like a PUT that sets a new password, it makes the rotator the user
 * whose rights the token narrows (lookups.ts, tokenRightsBase).
 */
export async function rotateRegistryToken(
  db: Db,
  config: Config,
  actor: Actor,
  principal: Principal,
  token: RegistryToken,
  graceSeconds: number,
): Promise<{ token: RegistryToken; password: string; deprecated: DeprecatedSecret | null }> {
  const { secret, ...stored } = await newSecret("krt", config);
  const rotated = await rotate(
    db,
    actor,
    {
      table: registryTokens,
      deprecatedColumn: "registryTokenId",
      refreshColumn: refreshTokens.registryTokenId,
      existing: token,
      set: { updatedAt: new Date(), updatedBy: principal.user.username, updatedByUserId: principal.user.id },
      audit: {
        kind: "registry_token.rotate",
        subjectUserId: token.createdByUserId,
        metadata: { registryId: token.registryId, name: token.name },
      },
      event: {
        kind: "registry_token",
        id: token.id,
        name: token.name,
        registryId: token.registryId,
        ownerId: token.createdByUserId,
      },
    },
    stored,
    graceSeconds,
  );
  if (!rotated) throw RACED();
  return { token: rotated.row, password: secret, deprecated: rotated.deprecated };
}

/** The deprecated secrets still before their sunset, per credential id, oldest first. */
export async function liveDeprecatedSecrets(
  db: Db,
  column: "apiKeyId" | "registryTokenId",
  ids: string[],
  now = new Date(),
): Promise<Map<string, DeprecatedView[]>> {
  const byId = new Map<string, DeprecatedView[]>();
  if (ids.length === 0) return byId;
  const col = deprecatedSecrets[column];
  // One JSON parameter for any number of ids (D1 caps bound parameters at 100).
  const rows = await db
    .select()
    .from(deprecatedSecrets)
    .where(and(inArray(col, sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`), gt(deprecatedSecrets.sunsetAt, now)))
    .orderBy(asc(deprecatedSecrets.createdAt));
  for (const row of rows) {
    const id = row[column]!;
    byId.set(id, [...(byId.get(id) ?? []), deprecatedView(row)]);
  }
  return byId;
}

/**
 * Ends one deprecated secret before its sunset (the operator saw its last use go quiet, or it
 * leaked): it and the refresh tokens it minted are deleted; the credential and its current
 * secret live on. `owned` is the condition that the credential is the caller's to manage. Of
 * concurrent ends exactly one succeeds; the others are "not found".
 */
export async function endDeprecatedSecret(
  db: Db,
  actor: Actor,
  column: "apiKeyId" | "registryTokenId",
  credential: { id: string; ownerId: string; owned: SQL },
  secretId: string,
): Promise<void> {
  const target = and(eq(deprecatedSecrets.id, secretId), eq(deprecatedSecrets[column], credential.id));
  const exists = sql`EXISTS (SELECT 1 FROM ${deprecatedSecrets} WHERE ${target}) AND ${credential.owned}`;
  const kind = column === "apiKeyId" ? "api_key" : "registry_token";
  const { removed } = await batchNamed(db, {
    audit: auditInsertWhere(
      db,
      actor,
      {
        kind: `${kind}.end_deprecated_secret`,
        subjectUserId: credential.ownerId,
        targetType: kind,
        targetId: credential.id,
        metadata: { deprecatedSecretId: secretId },
      },
      exists,
    ),
    event: eventInserts(
      db,
      {
        type: "credential.revoked",
        data: { kind, id: credential.id, ownerId: credential.ownerId, deprecatedSecretId: secretId },
      },
      { condition: exists },
    ),
    removed: db.delete(deprecatedSecrets).where(and(target, credential.owned)).returning({ id: deprecatedSecrets.id }),
  });
  if (removed.length === 0) throw notFound(`Deprecated secret ${secretId} not found`);
}

/** A user's API key, as endDeprecatedSecret's `owned` condition. */
export const ownedApiKey = (id: string, userId: string) =>
  sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${apiKeys.id} = ${id} AND ${apiKeys.userId} = ${userId})`;

/** A registry token still in its registry, as endDeprecatedSecret's `owned` condition. */
export const ownedRegistryToken = (token: Pick<RegistryToken, "id" | "registryId">) =>
  sql`EXISTS (SELECT 1 FROM ${registryTokens} WHERE ${registryTokens.id} = ${token.id} AND ${registryTokens.registryId} = ${token.registryId})`;
