import { eq, inArray, type SQL, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { apiKeys, deprecatedSecrets, refreshTokens, registries, registryTokens, sessions, users } from "../db/schema";

/*
 * The hot path's reads: each resolves a secret by its keyed hash (under every configured
 * pepper) through a unique index, as a query the caller batches with the failure counter and
 * the access reads — one D1 round trip in all. Columns are spelled out so that no name
 * repeats: D1 batches return rows as objects, and a repeated name would shift Drizzle's mapping.
 */

const userColumns = <C extends SQLiteColumn | SQL.Aliased<string>>(id: C) => ({
  id,
  username: users.username,
  email: users.email,
  firstname: users.firstname,
  lastname: users.lastname,
  passwordHash: users.passwordHash,
  enabled: users.enabled,
  superuser: users.superuser,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  lastLoginAt: users.lastLoginAt,
  lastLoginIp: users.lastLoginIp,
});

/** A credential's created_at under its own name: the user's created_at is in the same row. */
const createdAtAs = (column: SQLiteColumn, alias: string) => sql`${column}`.mapWith((ms: number) => new Date(ms)).as(alias);

export function apiKeyLookup(db: Db, hashes: string[]) {
  return db
    .select({
      id: apiKeys.id,
      scopes: apiKeys.scopes,
      createdAt: createdAtAs(apiKeys.createdAt, "key_created_at"),
      expiresAt: apiKeys.expiresAt,
      lastUsedAt: apiKeys.lastUsedAt,
      pepperVersion: apiKeys.pepperVersion,
      user: userColumns(apiKeys.userId),
    })
    .from(apiKeys)
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(inArray(apiKeys.secretHash, hashes))
    .limit(1);
}

/** The owner's id by the key's hash: a subquery for loading grants in the same round trip. */
export const apiKeyOwner = (db: Db, hashes: string[]) =>
  db.select({ id: apiKeys.userId }).from(apiKeys).where(inArray(apiKeys.secretHash, hashes));

/**
 * Whose rights a registry token narrows: whoever last set its scopes or secret (else its
 * creator). A token a superuser made and a mere owner later widened or replaced carries the
 * owner's rights, not the superuser's.
 */
const tokenRightsBase = sql<string>`coalesce(${registryTokens.updatedByUserId}, ${registryTokens.createdByUserId})`;

/** What verification needs of a registry token (its own columns). */
const registryTokenColumns = () => ({
  id: registryTokens.id,
  name: registryTokens.name,
  scopes: registryTokens.scopes,
  status: registryTokens.status,
  createdAt: createdAtAs(registryTokens.createdAt, "token_created_at"),
  expiresAt: registryTokens.expiresAt,
});

/** A registry token, its registry's service and the user whose rights it narrows. */
export function registryTokenLookup(db: Db, hashes: string[]) {
  return db
    .select({
      ...registryTokenColumns(),
      lastUsedAt: registryTokens.lastUsedAt,
      pepperVersion: registryTokens.pepperVersion,
      service: registries.hostname,
      user: userColumns(sql<string>`${users.id}`.as("rights_user_id")),
    })
    .from(registryTokens)
    .innerJoin(registries, eq(registries.id, registryTokens.registryId))
    .innerJoin(users, eq(users.id, tokenRightsBase))
    .where(inArray(registryTokens.secretHash, hashes))
    .limit(1);
}

export const registryTokenRightsBase = (db: Db, hashes: string[]) =>
  db.select({ id: tokenRightsBase }).from(registryTokens).where(inArray(registryTokens.secretHash, hashes));

/*
 * A rotated credential's old secret (deprecated_secrets), read only when the secret is not a
 * credential's current one: the hot path never pays for rotation. The row carries its own
 * bookkeeping (lastUsed, pepper) and sunset; the credential and its owner come along.
 */
const deprecatedColumns = {
  deprecatedId: sql<string>`${deprecatedSecrets.id}`.as("deprecated_id"),
  deprecatedAt: createdAtAs(deprecatedSecrets.createdAt, "deprecated_at"),
  sunsetAt: deprecatedSecrets.sunsetAt,
  lastUsedAt: deprecatedSecrets.lastUsedAt,
  pepperVersion: deprecatedSecrets.pepperVersion,
};

const deprecatedByHash = (db: Db, hashes: string[]) => ({
  apiKeyId: db
    .select({ id: deprecatedSecrets.apiKeyId })
    .from(deprecatedSecrets)
    .where(inArray(deprecatedSecrets.secretHash, hashes)),
  tokenId: db
    .select({ id: deprecatedSecrets.registryTokenId })
    .from(deprecatedSecrets)
    .where(inArray(deprecatedSecrets.secretHash, hashes)),
});

/** An API key by one of its deprecated secrets. */
export function deprecatedApiKeyLookup(db: Db, hashes: string[]) {
  return db
    .select({
      ...deprecatedColumns,
      id: apiKeys.id,
      scopes: apiKeys.scopes,
      createdAt: createdAtAs(apiKeys.createdAt, "key_created_at"),
      expiresAt: apiKeys.expiresAt,
      user: userColumns(apiKeys.userId),
    })
    .from(deprecatedSecrets)
    .innerJoin(apiKeys, eq(apiKeys.id, deprecatedSecrets.apiKeyId))
    .innerJoin(users, eq(users.id, apiKeys.userId))
    .where(inArray(deprecatedSecrets.secretHash, hashes))
    .limit(1);
}

export const deprecatedApiKeyOwner = (db: Db, hashes: string[]) =>
  db
    .select({ id: apiKeys.userId })
    .from(apiKeys)
    .where(inArray(apiKeys.id, deprecatedByHash(db, hashes).apiKeyId));

/** A registry token by one of its deprecated secrets, with its service and rights base. */
export function deprecatedRegistryTokenLookup(db: Db, hashes: string[]) {
  return db
    .select({
      ...deprecatedColumns,
      ...registryTokenColumns(),
      service: registries.hostname,
      user: userColumns(sql<string>`${users.id}`.as("rights_user_id")),
    })
    .from(deprecatedSecrets)
    .innerJoin(registryTokens, eq(registryTokens.id, deprecatedSecrets.registryTokenId))
    .innerJoin(registries, eq(registries.id, registryTokens.registryId))
    .innerJoin(users, eq(users.id, tokenRightsBase))
    .where(inArray(deprecatedSecrets.secretHash, hashes))
    .limit(1);
}

export const deprecatedTokenRightsBase = (db: Db, hashes: string[]) =>
  db
    .select({ id: tokenRightsBase })
    .from(registryTokens)
    .where(inArray(registryTokens.id, deprecatedByHash(db, hashes).tokenId));

/** A refresh token and the user whose rights it carries. Its parent is read beside it. */
export function refreshTokenLookup(db: Db, hashes: string[]) {
  return db
    .select({
      id: refreshTokens.id,
      via: refreshTokens.via,
      apiKeyId: refreshTokens.apiKeyId,
      registryTokenId: refreshTokens.registryTokenId,
      deprecatedSecretId: refreshTokens.deprecatedSecretId,
      service: refreshTokens.service,
      clientId: refreshTokens.clientId,
      createdAt: createdAtAs(refreshTokens.createdAt, "refresh_created_at"),
      expiresAt: refreshTokens.expiresAt,
      lastUsedAt: refreshTokens.lastUsedAt,
      pepperVersion: refreshTokens.pepperVersion,
      user: userColumns(refreshTokens.userId),
    })
    .from(refreshTokens)
    .innerJoin(users, eq(users.id, refreshTokens.userId))
    .where(inArray(refreshTokens.secretHash, hashes))
    .limit(1);
}

const byRefreshHash = (db: Db, hashes: string[]) => ({
  userId: db.select({ id: refreshTokens.userId }).from(refreshTokens).where(inArray(refreshTokens.secretHash, hashes)),
  apiKeyId: db.select({ id: refreshTokens.apiKeyId }).from(refreshTokens).where(inArray(refreshTokens.secretHash, hashes)),
  tokenId: db.select({ id: refreshTokens.registryTokenId }).from(refreshTokens).where(inArray(refreshTokens.secretHash, hashes)),
  deprecatedId: db
    .select({ id: refreshTokens.deprecatedSecretId })
    .from(refreshTokens)
    .where(inArray(refreshTokens.secretHash, hashes)),
});

export const refreshTokenUser = (db: Db, hashes: string[]) => byRefreshHash(db, hashes).userId;

/** The refresh token's parent API key (if any), read in the same batch. */
export function refreshParentKey(db: Db, hashes: string[]) {
  return db
    .select({ id: apiKeys.id, scopes: apiKeys.scopes, expiresAt: apiKeys.expiresAt })
    .from(apiKeys)
    .where(inArray(apiKeys.id, byRefreshHash(db, hashes).apiKeyId));
}

/** The refresh token's parent registry token (if any), with its registry's service. */
export function refreshParentToken(db: Db, hashes: string[]) {
  return db
    .select({
      id: registryTokens.id,
      name: registryTokens.name,
      scopes: registryTokens.scopes,
      status: registryTokens.status,
      expiresAt: registryTokens.expiresAt,
      service: registries.hostname,
    })
    .from(registryTokens)
    .innerJoin(registries, eq(registries.id, registryTokens.registryId))
    .where(inArray(registryTokens.id, byRefreshHash(db, hashes).tokenId));
}

/** The deprecated secret a refresh token was minted with (if any): it ends at that secret's sunset. */
export function refreshParentDeprecated(db: Db, hashes: string[]) {
  return db
    .select({ id: deprecatedSecrets.id, sunsetAt: deprecatedSecrets.sunsetAt })
    .from(deprecatedSecrets)
    .where(inArray(deprecatedSecrets.id, byRefreshHash(db, hashes).deprecatedId));
}

/** A browser session and its user, by the cookie secret's hash. */
export function sessionLookup(db: Db, hashes: string[]) {
  return db
    .select({
      id: sessions.id,
      createdAt: createdAtAs(sessions.createdAt, "session_created_at"),
      signedInAt: sessions.signedInAt,
      lastUsedAt: sessions.lastUsedAt,
      expiresAt: sessions.expiresAt,
      absoluteExpiresAt: sessions.absoluteExpiresAt,
      pepperVersion: sessions.pepperVersion,
      user: userColumns(sessions.userId),
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(inArray(sessions.secretHash, hashes))
    .limit(1);
}

export const sessionUser = (db: Db, hashes: string[]) =>
  db.select({ id: sessions.userId }).from(sessions).where(inArray(sessions.secretHash, hashes));
