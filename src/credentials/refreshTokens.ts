import { and, desc, eq, sql } from "drizzle-orm";
import type { Config } from "../config";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { insertWhere } from "../db/conditional";
import { apiKeys, type RefreshToken, refreshTokens, registryTokens, users } from "../db/schema";
import { type Actor, apiKeyOf, type Lineage, type Principal } from "../domain/access";
import { ApiError, forbidden, notFound } from "../errors";
import { auditInsertWhere } from "../services/audit";
import { newSecret } from "./issue";

/*
 * Refresh tokens (krf_) are children of the credential that minted them at /v2/auth: they
 * carry its narrowing (read live from the parent on every use), end no later than it, are
 * deleted with it (FK cascade), end on a password change when a password minted them, and
 * are listed and revocable by their user.
 */
export const REFRESH_TOKEN_LIFETIME_MS = 30 * 86_400_000;

/** Mints a refresh token for `principal`'s credential; the secret is returned once. */
export async function mintRefreshToken(
  db: Db,
  config: Config,
  actor: Actor,
  principal: Principal,
  input: { service: string; clientId: string | null },
): Promise<string> {
  const { lineage, user } = principal;
  // Redeeming a refresh token never mints another: the client keeps the one it has.
  if (lineage.kind === "refresh_token") throw new ApiError("bad_request", "A refresh token cannot mint another");
  // /v2/auth never accepts a session (domain/trust.ts): a browser session mints nothing.
  if (lineage.kind === "session") throw new ApiError("bad_request", "A session cannot mint refresh tokens");
  const now = new Date();
  let expiresAt = new Date(now.getTime() + REFRESH_TOKEN_LIFETIME_MS);
  if (lineage.kind !== "password" && lineage.expiresAt && lineage.expiresAt < expiresAt) expiresAt = lineage.expiresAt;
  const { secret, secretHash, pepperVersion } = await newSecret("krf", config);
  const row: RefreshToken = {
    id: crypto.randomUUID(),
    userId: user.id,
    via: lineage.kind,
    apiKeyId: lineage.kind === "api_key" ? lineage.id : null,
    registryTokenId: lineage.kind === "registry_token" ? lineage.id : null,
    deprecatedSecretId:
      (lineage.kind === "api_key" || lineage.kind === "registry_token") && lineage.deprecated ? lineage.deprecated.id : null,
    service: input.service,
    clientId: input.clientId,
    secretHash,
    pepperVersion,
    createdAt: now,
    expiresAt,
    lastUsedAt: null,
    lastUsedIp: null,
  };
  // The parent may be revoked between its verification and this write: the token is written
  // only while the parent still exists (and its user is enabled).
  const parentAlive =
    lineage.kind === "api_key"
      ? sql`EXISTS (SELECT 1 FROM ${apiKeys} WHERE ${apiKeys.id} = ${lineage.id})`
      : lineage.kind === "registry_token"
        ? sql`EXISTS (SELECT 1 FROM ${registryTokens} WHERE ${registryTokens.id} = ${lineage.id} AND ${registryTokens.status} = 'enabled')`
        : sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${user.id} AND ${users.enabled} = 1)`;
  const { inserted } = await batchNamed(db, {
    inserted: insertWhere(db, refreshTokens, row, parentAlive).returning({ id: refreshTokens.id }),
    audit: auditInsertWhere(
      db,
      actor,
      {
        kind: "refresh_token.create",
        subjectUserId: user.id,
        targetType: "refresh_token",
        targetId: row.id,
        metadata: { service: row.service, via: row.via, parentId: row.apiKeyId ?? row.registryTokenId, clientId: row.clientId },
      },
      parentAlive,
    ),
  });
  if (inserted.length === 0) throw new ApiError("unauthorized", "The credential was revoked");
  return secret;
}

/** A refresh token as its user sees it: never the secret or its hash. */
export function refreshTokenView(
  t: Pick<
    RefreshToken,
    | "id"
    | "via"
    | "apiKeyId"
    | "registryTokenId"
    | "service"
    | "clientId"
    | "createdAt"
    | "expiresAt"
    | "lastUsedAt"
    | "lastUsedIp"
  >,
) {
  return {
    id: t.id,
    service: t.service,
    clientId: t.clientId,
    via: t.via,
    parentId: t.apiKeyId ?? t.registryTokenId,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt.toISOString(),
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: t.lastUsedIp,
  };
}

export function listRefreshTokens(db: Db, userId: string) {
  return db
    .select({
      id: refreshTokens.id,
      via: refreshTokens.via,
      apiKeyId: refreshTokens.apiKeyId,
      registryTokenId: refreshTokens.registryTokenId,
      service: refreshTokens.service,
      clientId: refreshTokens.clientId,
      createdAt: refreshTokens.createdAt,
      expiresAt: refreshTokens.expiresAt,
      lastUsedAt: refreshTokens.lastUsedAt,
      lastUsedIp: refreshTokens.lastUsedIp,
    })
    .from(refreshTokens)
    .where(eq(refreshTokens.userId, userId))
    .orderBy(desc(refreshTokens.createdAt));
}

/** Revokes one of the user's refresh tokens: one revoke, one audit row; a lost race is a 404. */
export async function revokeRefreshToken(db: Db, actor: Actor, userId: string, id: string, caller?: Lineage): Promise<void> {
  const owned = and(eq(refreshTokens.id, id), eq(refreshTokens.userId, userId));
  const [token] = await db.select({ apiKeyId: refreshTokens.apiKeyId }).from(refreshTokens).where(owned);
  if (!token) throw notFound(`Refresh token ${id} not found`);
  // A scoped key manages only what it made: the refresh tokens it minted itself.
  const callerKey = caller && apiKeyOf(caller);
  if (callerKey?.scopes && token.apiKeyId !== callerKey.id) {
    throw forbidden("A key can only revoke the refresh tokens it minted");
  }
  const { removed } = await batchNamed(db, {
    audit: auditInsertWhere(
      db,
      actor,
      { kind: "refresh_token.revoke", subjectUserId: userId, targetType: "refresh_token", targetId: id },
      sql`EXISTS (SELECT 1 FROM ${refreshTokens} WHERE ${owned})`,
    ),
    removed: db.delete(refreshTokens).where(owned).returning({ id: refreshTokens.id }),
  });
  if (removed.length === 0) throw notFound(`Refresh token ${id} not found`);
}
