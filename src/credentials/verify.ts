import { eq, type SQLWrapper } from "drizzle-orm";
import type { Config } from "../config";
import { burnPasswordCheck, hashPassword, isPasswordText, needsRehash, verifyPassword } from "../crypto/password";
import { hashSecret } from "../crypto/secrets";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { apiKeys, deprecatedSecrets, refreshTokens, registryTokens, type User, users } from "../db/schema";
import type { Actor, Deprecation, Grant, Lineage, Principal } from "../domain/access";
import { USERNAME_PATTERN } from "../domain/names";
import { accepts, type Boundary, presentedKind } from "../domain/trust";
import { ApiError } from "../errors";
import {
  assertNotThrottled,
  auditFailure,
  countAttemptQueries,
  type FailureKeys,
  type FailureSubject,
  failureCountsQuery,
  forgiveAttempt,
  recordAuthFailure,
} from "../services/authFailures";
import { grantsQuery, publicPatternsQuery } from "../services/permissions";
import { lookupHashes } from "./issue";
import {
  apiKeyLookup,
  apiKeyOwner,
  deprecatedApiKeyLookup,
  deprecatedApiKeyOwner,
  deprecatedRegistryTokenLookup,
  deprecatedTokenRightsBase,
  refreshParentDeprecated,
  refreshParentKey,
  refreshParentToken,
  refreshTokenLookup,
  refreshTokenUser,
  registryTokenLookup,
  registryTokenRightsBase,
  sessionLookup,
  sessionUser,
} from "./lookups";
import { forget, hashFingerprint, memoKey, recall, remember } from "./passwordMemo";
import { touchSession } from "./sessions";
import {
  apiKeyState,
  cappedAtSunset,
  deprecatedState,
  refreshParentLineage,
  refreshTokenState,
  registryTokenState,
  sessionState,
} from "./state";
import { recordUse, type SecretTable, type UsedCredential } from "./use";
import { cached, cacheGeneration, keep } from "./verifyCache";

/*
 * The one verification of every credential keyward accepts: a password, an API key (zak_), a
 * registry token (krt_) or a refresh token (krf_). It answers with a discriminated union and
 * never throws for a bad credential. The hot path is one D1 round trip: the credential, the
 * client's failure counter and (withAccess) the user's grants and the public repositories in
 * one batch; bookkeeping (lastUsed, re-hash under a new pepper) is deferred and coalesced.
 */

/** lastLoginAt is coalesced like lastUsed: Basic-password API calls must not write every time. */
const LAST_LOGIN_GRANULARITY_MS = 60_000;

export interface VerifyContext {
  db: Db;
  config: Config;
  actor: Actor;
  /** The client's address, for the failure counters. */
  client: string;
  /**
   * The per-credential rate limit (the Workers Rate Limiting binding): false when the
   * credential keyed by `key` is over it. No D1 work; absent = unlimited.
   */
  rateLimit?: (key: string) => Promise<boolean>;
  /** With D1 read replicas: the primary, for secrets the replica does not know yet (and writes). */
  primary?: Db;
  /** Runs bookkeeping after the response (ctx.waitUntil), never on the response's path. */
  defer(work: Promise<unknown> | null): void;
}

/** What the caller presented: a Basic pair, or a Bearer value (username null). */
export interface Presented {
  username: string | null;
  value: string;
}

export interface VerifyOptions {
  boundary: Boundary;
  /** Also load the user's grants and the public repositories in the same round trip. */
  withAccess?: boolean;
  /** The registry service asked for (/v2/auth): registry and refresh tokens serve one service. */
  service?: string;
}

export type Refusal = "not_accepted" | "invalid" | "wrong_service" | "throttled" | "over_rate_limit";

export type Verification =
  | { ok: true; principal: Principal }
  | { ok: false; reason: Refusal; detail: string; retryAfter?: number };

const refuse = (reason: Refusal, detail: string): Verification => ({ ok: false, reason, detail });

export async function verifyCredential(ctx: VerifyContext, presented: Presented, options: VerifyOptions): Promise<Verification> {
  const kind = presentedKind(presented.value);
  // A malformed secret fails its checksum: refused before any read, and costs nothing.
  if (kind === null) return refuse("invalid", "malformed");
  if (kind === "password" && presented.username === null) return refuse("not_accepted", "bearer_password");
  if (!accepts(options.boundary, kind)) return refuse("not_accepted", kind);
  try {
    switch (kind) {
      case "password":
        return await verifyPasswordOf(ctx, presented.username!, presented.value, options);
      case "api_key":
        return await verifyApiKey(ctx, presented, options);
      case "registry_token":
        return await verifyRegistryToken(ctx, presented, options);
      case "refresh_token":
        return await verifyRefreshToken(ctx, presented.value, options);
      case "session":
        return await verifySession(ctx, presented.value, options);
      case "access_token":
        return refuse("not_accepted", kind);
    }
  } catch (err) {
    if (err instanceof ApiError && err.code === "rate_limited") {
      return { ok: false, reason: "throttled", detail: "throttled", retryAfter: Number(err.headers["Retry-After"]) || 1 };
    }
    throw err;
  }
}

/** The user's grants and the public repositories, keyed by a subquery for the user. */
function accessQueries(db: Db, userId: SQLWrapper | string) {
  return [grantsQuery(db, userId), publicPatternsQuery(db)] as const;
}

function accessOf(rows: unknown[] | undefined): Principal["access"] {
  if (!rows) return undefined;
  const [grants, publicRows] = rows as [Grant[], { pattern: string }[]];
  return { grants, publicPatterns: publicRows.map((r) => r.pattern) };
}

/**
 * A refused secret: a throttled client gets its 429 with nothing written; anyone else's
 * failure is counted and audited (never the secret; `reason` says which branch). The counters
 * are read only here, on the failure path: a valid secret needs no throttle (guessing one is
 * hopeless), and its request reads nothing it does not use.
 */
async function failSecret(
  ctx: VerifyContext,
  keys: FailureKeys,
  metadata: Record<string, unknown>,
  about?: FailureSubject,
  reason: Refusal = "invalid",
) {
  assertNotThrottled(await failureCountsQuery(ctx.db, keys), keys, "before");
  await recordAuthFailure(ctx.db, ctx.actor, keys, metadata, about);
  return refuse(reason, String(metadata.reason));
}

async function verifyApiKey(ctx: VerifyContext, presented: Presented, options: VerifyOptions): Promise<Verification> {
  const { config } = ctx;
  const hashes = await lookupHashes(presented.value, config);
  const keys: FailureKeys = { client: ctx.client };
  // In cache mode the grants always come along, so one entry serves every use of the key.
  const withAccess = options.withAccess || config.verifyCacheMs > 0;
  const read = (db: Db) =>
    batchNamed(db, {
      key: apiKeyLookup(db, hashes),
      access: withAccess ? accessQueries(db, apiKeyOwner(db, hashes)) : [],
    });
  const cacheKey = `api_key:${hashes[0]}`;
  const startedAt = cacheGeneration();
  const hit = fromCache<Awaited<ReturnType<typeof read>>>(config, cacheKey);
  const r = hit ?? (await readOrPrimary(ctx, read, (x) => x.key.length > 0));
  const row = r.key[0];
  if (!row) {
    const old = await verifyDeprecatedApiKey(ctx, presented, hashes, withAccess);
    if (old) return old;
  }
  const reason = !row
    ? "unknown"
    : presented.username !== null && presented.username !== row.user.username
      ? "wrong_user"
      : apiKeyState(row);
  if (!row || reason) {
    // The username is recorded only when it names the key's real owner: anything else typed
    // there might be a secret.
    const named = row && presented.username === row.user.username ? presented.username : null;
    const about = row && { userId: row.user.id, targetType: "api_key" as const, targetId: row.id };
    return failSecret(ctx, keys, { method: "api_key", reason, username: named }, about);
  }
  // Kept from a fresh read only: a hit must not push its own bound further out.
  if (!hit) keep(cacheKey, r, config.verifyCacheMs, startedAt);
  if (await overRateLimit(ctx, `api_key:${row.id}`)) return OVER_RATE_LIMIT;
  deferUse(ctx, apiKeys, row, hashes);
  const lineage: Lineage = { kind: "api_key", id: row.id, scopes: row.scopes, expiresAt: row.expiresAt };
  return { ok: true, principal: { user: row.user, lineage, access: accessOf(options.withAccess ? r.access : undefined) } };
}

/** The window of CREDENTIAL_RATE_LIMIT in wrangler.toml ([[ratelimits]] simple.period): the Retry-After. */
export const CREDENTIAL_RATE_PERIOD_SECONDS = 60;

const OVER_RATE_LIMIT: Verification = {
  ok: false,
  reason: "over_rate_limit",
  detail: "over_rate_limit",
  retryAfter: CREDENTIAL_RATE_PERIOD_SECONDS,
};

/** Whether a valid credential is over its own rate limit (it is otherwise unaffected). */
async function overRateLimit(ctx: VerifyContext, key: string): Promise<boolean> {
  return ctx.rateLimit ? !(await ctx.rateLimit(key)) : false;
}

/** The client's address as recorded with a use; null when the request did not say. */
const knownAddress = (client: string) => (client === "unknown" ? null : client);

/** The cached answer of a credential's round trip, in cache mode. */
function fromCache<T>(config: Config, key: string): T | null {
  return config.verifyCacheMs > 0 ? cached<T>(key) : null;
}

/**
 * With read replicas, a secret the replica does not know is looked up again on the primary
 * before it is refused: it may be seconds old.
 */
async function readOrPrimary<T>(ctx: VerifyContext, read: (db: Db) => Promise<T>, found: (r: T) => boolean): Promise<T> {
  const r = await read(ctx.db);
  return found(r) || !ctx.primary ? r : read(ctx.primary);
}

/**
 * lastUsed and a re-hash, deferred and coalesced (credentials/use.ts). The row is marked as
 * written, so a cached row does not ask for the same write on every request.
 */
function deferUse(ctx: VerifyContext, table: SecretTable, row: UsedCredential, hashes: string[]) {
  const write = recordUse(ctx.primary ?? ctx.db, table, row, hashes, ctx.config, knownAddress(ctx.client));
  if (!write) return;
  ctx.defer(write);
  row.lastUsedAt = new Date();
  row.pepperVersion = ctx.config.peppers.current.version;
}

async function verifyRegistryToken(ctx: VerifyContext, presented: Presented, options: VerifyOptions): Promise<Verification> {
  const { config } = ctx;
  const hashes = await lookupHashes(presented.value, config);
  const keys: FailureKeys = { client: ctx.client };
  const read = (db: Db) =>
    batchNamed(db, {
      token: registryTokenLookup(db, hashes),
      access: accessQueries(db, registryTokenRightsBase(db, hashes)),
    });
  const cacheKey = `registry_token:${hashes[0]}`;
  const startedAt = cacheGeneration();
  const hit = fromCache<Awaited<ReturnType<typeof read>>>(config, cacheKey);
  const r = hit ?? (await readOrPrimary(ctx, read, (x) => x.token.length > 0));
  const token = r.token[0];
  if (!token) {
    const old = await verifyDeprecatedRegistryToken(ctx, presented, hashes, options);
    if (old) return old;
  }
  const reason = !token
    ? "unknown"
    : token.name !== presented.username
      ? "wrong_user"
      : (registryTokenState(token) ?? (token.service !== options.service ? "wrong_service" : null));
  if (!token || reason) {
    const named = token?.name === presented.username ? token.id : null;
    const about = token && { userId: token.user.id, targetType: "registry_token" as const, targetId: token.id };
    return failSecret(
      ctx,
      keys,
      { method: "registry_token", reason, token: named },
      about,
      reason === "wrong_service" ? "wrong_service" : "invalid",
    );
  }
  // Kept from a fresh read only: a hit must not push its own bound further out.
  if (!hit) keep(cacheKey, r, config.verifyCacheMs, startedAt);
  if (await overRateLimit(ctx, `registry_token:${token.id}`)) return OVER_RATE_LIMIT;
  deferUse(ctx, registryTokens, token, hashes);
  const lineage: Lineage = {
    kind: "registry_token",
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    expiresAt: token.expiresAt,
  };
  return { ok: true, principal: { user: token.user, lineage, access: accessOf(r.access) } };
}

/*
 * A secret that is no credential's current one may be a rotated credential's old secret: it is
 * looked up then (one more round trip, on the primary when there are replicas — a rotation is
 * seconds old at most), so the hot path never pays for rotation. Null: not a deprecated secret
 * either (the caller refuses it as unknown). Once found, it is the credential: the same
 * liveness, username and service checks, the same rate limit — and its sunset.
 */

async function verifyDeprecatedApiKey(
  ctx: VerifyContext,
  presented: Presented,
  hashes: string[],
  withAccess: boolean,
): Promise<Verification | null> {
  const db = ctx.primary ?? ctx.db;
  const r = await batchNamed(db, {
    key: deprecatedApiKeyLookup(db, hashes),
    access: withAccess ? accessQueries(db, deprecatedApiKeyOwner(db, hashes)) : [],
  });
  const row = r.key[0];
  if (!row) return null;
  const reason =
    presented.username !== null && presented.username !== row.user.username
      ? "wrong_user"
      : (deprecatedState(row) ?? apiKeyState(row));
  if (reason) {
    const named = presented.username === row.user.username ? presented.username : null;
    const about = { userId: row.user.id, targetType: "api_key" as const, targetId: row.id };
    return failSecret(ctx, { client: ctx.client }, { method: "api_key", reason, username: named, deprecated: true }, about);
  }
  if (await overRateLimit(ctx, `api_key:${row.id}`)) return OVER_RATE_LIMIT;
  const deprecated = useDeprecated(ctx, row, hashes);
  const expiresAt = cappedAtSunset(row.expiresAt, row.sunsetAt);
  const lineage: Lineage = { kind: "api_key", id: row.id, scopes: row.scopes, expiresAt, deprecated };
  return { ok: true, principal: { user: row.user, lineage, access: accessOf(withAccess ? r.access : undefined) } };
}

async function verifyDeprecatedRegistryToken(
  ctx: VerifyContext,
  presented: Presented,
  hashes: string[],
  options: VerifyOptions,
): Promise<Verification | null> {
  const db = ctx.primary ?? ctx.db;
  const r = await batchNamed(db, {
    token: deprecatedRegistryTokenLookup(db, hashes),
    access: accessQueries(db, deprecatedTokenRightsBase(db, hashes)),
  });
  const token = r.token[0];
  if (!token) return null;
  const reason =
    token.name !== presented.username
      ? "wrong_user"
      : (deprecatedState(token) ?? registryTokenState(token) ?? (token.service !== options.service ? "wrong_service" : null));
  if (reason) {
    const named = token.name === presented.username ? token.id : null;
    const about = { userId: token.user.id, targetType: "registry_token" as const, targetId: token.id };
    const metadata = { method: "registry_token", reason, token: named, deprecated: true };
    return failSecret(ctx, { client: ctx.client }, metadata, about, reason === "wrong_service" ? "wrong_service" : "invalid");
  }
  if (await overRateLimit(ctx, `registry_token:${token.id}`)) return OVER_RATE_LIMIT;
  const deprecated = useDeprecated(ctx, token, hashes);
  const lineage: Lineage = {
    kind: "registry_token",
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    expiresAt: cappedAtSunset(token.expiresAt, token.sunsetAt),
    deprecated,
  };
  return { ok: true, principal: { user: token.user, lineage, access: accessOf(r.access) } };
}

/** A deprecated secret's own lastUsed (what the listing shows), and what the lineage says of it. */
function useDeprecated(
  ctx: VerifyContext,
  row: { deprecatedId: string; deprecatedAt: Date; sunsetAt: Date; lastUsedAt: Date | null; pepperVersion: number },
  hashes: string[],
): Deprecation {
  deferUse(
    ctx,
    deprecatedSecrets,
    { id: row.deprecatedId, lastUsedAt: row.lastUsedAt, pepperVersion: row.pepperVersion },
    hashes,
  );
  return { id: row.deprecatedId, deprecatedAt: row.deprecatedAt, sunsetAt: row.sunsetAt };
}

async function verifyRefreshToken(ctx: VerifyContext, secret: string, options: VerifyOptions): Promise<Verification> {
  const { config } = ctx;
  const hashes = await lookupHashes(secret, config);
  const keys: FailureKeys = { client: ctx.client };
  const read = (db: Db) =>
    batchNamed(db, {
      token: refreshTokenLookup(db, hashes),
      parentKey: refreshParentKey(db, hashes),
      parentToken: refreshParentToken(db, hashes),
      parentDeprecated: refreshParentDeprecated(db, hashes),
      access: accessQueries(db, refreshTokenUser(db, hashes)),
    });
  const r = await readOrPrimary(ctx, read, (x) => x.token.length > 0);
  const token = r.token[0];
  const parents = { key: r.parentKey[0], token: r.parentToken[0], deprecated: r.parentDeprecated[0] };
  const reason = !token
    ? "unknown"
    : (refreshTokenState(token, parents) ?? (token.service !== options.service ? "wrong_service" : null));
  const parent = token && !reason ? refreshParentLineage(token.via, parents) : null;
  if (!token || !parent) {
    const about = token && { userId: token.user.id, targetType: "refresh_token" as const, targetId: token.id };
    return failSecret(ctx, keys, { method: "refresh_token", reason }, about);
  }
  deferUse(ctx, refreshTokens, token, hashes);
  const lineage: Lineage = { kind: "refresh_token", id: token.id, parent };
  return { ok: true, principal: { user: token.user, lineage, access: accessOf(r.access) } };
}

/**
 * A browser session (the cookie's kss_ secret). Failures are not counted: the secret has ~190
 * random bits, and a browser whose session ended simply presents a stale cookie.
 */
async function verifySession(ctx: VerifyContext, secret: string, options: VerifyOptions): Promise<Verification> {
  const { db, config } = ctx;
  const hashes = await lookupHashes(secret, config);
  const read = (db: Db) =>
    batchNamed(db, {
      session: sessionLookup(db, hashes),
      access: options.withAccess ? accessQueries(db, sessionUser(db, hashes)) : [],
    });
  const r = await readOrPrimary(ctx, read, (x) => x.session.length > 0);
  const session = r.session[0];
  const reason = !session ? "unknown" : sessionState(session);
  if (!session || reason) return refuse("invalid", reason!);
  ctx.defer(touchSession(db, session, hashes, config, knownAddress(ctx.client)));
  const lineage: Lineage = { kind: "session", id: session.id, signedInAt: session.signedInAt };
  return { ok: true, principal: { user: session.user, lineage, access: accessOf(options.withAccess ? r.access : undefined) } };
}

/** A well-formed username, or undefined for junk (which is then never looked up or stored). */
function wellFormedUsername(username: string): string | undefined {
  return USERNAME_PATTERN.test(username) ? username.toLowerCase() : undefined;
}

async function verifyPasswordOf(
  ctx: VerifyContext,
  typedName: string,
  password: string,
  options: VerifyOptions,
): Promise<Verification> {
  if (!typedName || password.length === 0 || password.length > 1024 || !isPasswordText(password)) {
    return refuse("invalid", "malformed");
  }
  const { db, config } = ctx;
  const username = wellFormedUsername(typedName);
  // The per-user counter is keyed by a keyed hash of the name: a password typed into the
  // username field never lands in D1 in plain text.
  const keys: FailureKeys = {
    client: ctx.client,
    user: username && (await hashSecret(`user:${username}`, config.peppers.current)).slice(0, 32),
  };
  const memo = username ? await memoKey(username, password, config.peppers.current) : null;
  const remembered = memo && recall(memo);
  if (memo && remembered) {
    const hit = await verifyRemembered(ctx, username!, keys, remembered, options);
    if (hit) return hit;
    forget(memo);
  }
  // A miss: the attempt is counted before the KDF and before any check, so a burst of
  // concurrent guesses cannot all pass a stale count, and a throttled guesser cannot make us
  // burn CPU.
  const r = await batchNamed(db, {
    user: userByName(db, username),
    counted: countAttemptQueries(db, keys),
    access: options.withAccess ? accessQueries(db, userIdByName(db, username)) : [],
  });
  assertNotThrottled(r.counted.flat() as { key: string; windowStart: Date; count: number }[], keys, "after");
  const user: User | undefined = r.user[0];
  let ok = false;
  if (user?.passwordHash) ok = verifyPassword(password, user.passwordHash);
  else burnPasswordCheck(password, config.passwordParams);
  if (!user || !ok || !user.enabled) {
    const reason = !user ? "unknown" : !ok ? "wrong_password" : "user_disabled";
    // Only an existing user's name is recorded; an unknown one might be a mistyped secret.
    const about = user && { userId: user.id, targetType: "user" as const, targetId: user.username };
    await auditFailure(db, ctx.actor, { method: "password", reason, username: user?.username ?? null }, about);
    return refuse("invalid", reason);
  }
  ctx.defer(forgiveAttempt(db, keys));
  const rehashed = needsRehash(user.passwordHash!, config.passwordParams) ? hashPassword(password, config.passwordParams) : null;
  deferLastLogin(ctx, user, rehashed);
  // Remembered against the hash that will be stored: a re-hash does not void the memo.
  if (memo) remember(memo, await hashFingerprint(rehashed ?? user.passwordHash!));
  return {
    ok: true,
    principal: { user, lineage: { kind: "password" }, access: accessOf(options.withAccess ? r.access : undefined) },
  };
}

const userByName = (db: Db, username: string | undefined) =>
  db
    .select()
    .from(users)
    .where(eq(users.username, username ?? ""));

const userIdByName = (db: Db, username: string | undefined) =>
  db
    .select({ id: users.id })
    .from(users)
    .where(eq(users.username, username ?? ""));

/** lastLoginAt (coalesced) and a re-hash under raised parameters, after the response. */
function deferLastLogin(ctx: VerifyContext, user: User, rehashed: string | null) {
  const now = new Date();
  const set: Partial<typeof users.$inferInsert> = {};
  if (!user.lastLoginAt || now.getTime() - user.lastLoginAt.getTime() >= LAST_LOGIN_GRANULARITY_MS) {
    set.lastLoginAt = now;
    set.lastLoginIp = knownAddress(ctx.client);
  }
  if (rehashed) set.passwordHash = rehashed;
  if (Object.keys(set).length > 0) ctx.defer(ctx.db.update(users).set(set).where(eq(users.id, user.id)));
}

/**
 * A remembered (username, password): no KDF and no write. The user row, the client's
 * failure counters (read only: a locked-out pair stays locked) and the grants load in the one
 * round trip; the user must be enabled and still hold the hash that was verified. Null when
 * the memo no longer holds (the caller forgets it and checks the password in full).
 */
async function verifyRemembered(
  ctx: VerifyContext,
  username: string,
  keys: FailureKeys,
  fingerprint: string,
  options: VerifyOptions,
): Promise<Verification | null> {
  const { db } = ctx;
  const r = await batchNamed(db, {
    user: userByName(db, username),
    counters: failureCountsQuery(db, keys),
    access: options.withAccess ? accessQueries(db, userIdByName(db, username)) : [],
  });
  assertNotThrottled(r.counters, keys, "before");
  const user: User | undefined = r.user[0];
  if (!user?.passwordHash || !user.enabled || (await hashFingerprint(user.passwordHash)) !== fingerprint) return null;
  deferLastLogin(ctx, user, null);
  return {
    ok: true,
    principal: { user, lineage: { kind: "password" }, access: accessOf(options.withAccess ? r.access : undefined) },
  };
}
