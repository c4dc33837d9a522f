import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { eq, inArray, type SQLWrapper } from "drizzle-orm";
import { burnPasswordCheck, needsRehash, hashPassword, verifyPassword } from "../crypto/password";
import { hashSecret, parseSecret, secretHashes } from "../crypto/secrets";
import type { Db } from "../db/client";
import { apiKeys, users } from "../db/schema";
import { grantsQuery, publicPatternsQuery, type Grant } from "../services/permissions";
import type { AppEnv } from "../env";
import { ApiError, safeErrorText } from "../errors";
import { apiKeyLookupQuery, isExpired, recordApiKeyUse, toVerifiedKey } from "../services/apiKeys";
import type { Actor } from "../services/audit";
import {
  assertNotThrottled,
  auditFailure,
  countAttemptQueries,
  failureCountsQuery,
  forgiveAttempt,
  recordAuthFailure,
  type FailureKeys,
} from "../services/authFailures";
import { USERNAME_PATTERN } from "../services/users";
import type { Principal } from "./principal";

/** lastLoginAt is coalesced like lastUsed: Basic-password API calls must not write every time. */
const LAST_LOGIN_GRANULARITY_MS = 60_000;

export const WWW_AUTHENTICATE = 'Basic realm="keyward", charset="UTF-8"';

/** The one refusal for bad credentials: it never says whether the user exists. */
export function unauthorized(message = "Invalid credentials") {
  return new ApiError("unauthorized", message, { "WWW-Authenticate": WWW_AUTHENTICATE });
}

export function clientAddress(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

export function actorOf(c: Context<AppEnv>): Actor {
  const principal = c.get("principal");
  return {
    id: principal?.user.id ?? null,
    name: principal?.user.username ?? null,
    ip: c.req.header("cf-connecting-ip") ?? null,
    requestId: c.get("requestId"),
  };
}

/** Runs bookkeeping after the response without holding it up. */
export function defer(c: Context<AppEnv>, work: Promise<unknown> | null): void {
  if (!work) return;
  const logged = work.catch((err) => console.error("deferred write failed", safeErrorText(err)));
  try {
    c.executionCtx.waitUntil(logged);
  } catch {
    // No ExecutionContext (e.g. app.request in a unit test): the promise still runs.
  }
}

export type Credentials =
  | { kind: "password"; username: string; password: string }
  | { kind: "api_key"; username: string | null; secret: string };

/** A username and password pair, where the password may be an API key (zot's Basic user:zak_…). */
export function basicCredentials(username: string, password: string): Credentials {
  if (password.startsWith("zak_")) {
    if (parseSecret(password) !== "zak") throw unauthorized();
    return { kind: "api_key", username, secret: password };
  }
  if (!username || password.length === 0 || password.length > 1024) throw unauthorized();
  return { kind: "password", username, password };
}

/** The username and password of a Basic header, or null for another scheme. */
export function basicPair(header: string): { username: string; password: string } | null {
  const space = header.indexOf(" ");
  if (header.slice(0, space).toLowerCase() !== "basic") return null;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
      Uint8Array.from(atob(header.slice(space + 1).trim()), (ch) => ch.charCodeAt(0)),
    );
  } catch {
    throw unauthorized("Malformed Basic credentials");
  }
  const colon = decoded.indexOf(":");
  if (colon < 1) throw unauthorized("Malformed Basic credentials");
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Parses the Authorization header; malformed → 401 with no database read. */
function parseAuthorization(header: string): Credentials {
  const space = header.indexOf(" ");
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  const pair = basicPair(header);
  if (pair) return basicCredentials(pair.username, pair.password);
  if (scheme === "bearer") {
    if (parseSecret(value) !== "zak") throw unauthorized("Invalid bearer token");
    return { kind: "api_key", username: null, secret: value };
  }
  throw unauthorized("Unsupported authorization scheme");
}

/** A well-formed username, or undefined for junk (which is then never looked up or stored). */
function wellFormedUsername(username: string | null): string | undefined {
  return username !== null && USERNAME_PATTERN.test(username) ? username.toLowerCase() : undefined;
}

/** Reads for the caller's grants and the public repositories, keyed by a subquery for the user. */
function accessQueries(db: Db, userId: SQLWrapper) {
  return [grantsQuery(db, userId), publicPatternsQuery(db)] as const;
}

function accessOf(results: unknown[]): Principal["access"] {
  const [grants, publicRows] = results as [Grant[], { pattern: string }[]];
  return { grants, publicPatterns: publicRows.map((r) => r.pattern) };
}

async function authenticateApiKey(c: Context<AppEnv>, creds: Extract<Credentials, { kind: "api_key" }>, withAccess: boolean) {
  const db = c.get("db");
  const config = c.get("config");
  const hashes = await secretHashes(creds.secret, config.peppers);
  const keys: FailureKeys = { client: clientAddress(c) };
  // Hot path: the key with its owner and the client's failure counter (and, for /v2/auth, the
  // owner's grants and the public repositories) in one D1 round trip.
  const owner = db.select({ id: apiKeys.userId }).from(apiKeys).where(inArray(apiKeys.secretHash, hashes));
  const [rows, counters, ...access] = await db.batch([
    apiKeyLookupQuery(db, hashes),
    failureCountsQuery(db, keys),
    ...(withAccess ? accessQueries(db, owner) : []),
  ]);
  assertNotThrottled(counters, keys, "before");
  const verified = toVerifiedKey(rows[0], hashes, config);
  const valid =
    verified &&
    verified.user.enabled &&
    !isExpired(verified.key) &&
    (creds.username === null || creds.username === verified.user.username);
  if (!valid) {
    // The username is recorded only when it names the key's real owner: anything else typed
    // there might be a secret.
    const named = verified && creds.username === verified.user.username ? creds.username : null;
    await recordAuthFailure(db, actorOf(c), keys, { method: "api_key", username: named });
    throw unauthorized();
  }
  defer(c, recordApiKeyUse(db, verified));
  return {
    user: verified.user,
    method: "api_key",
    apiKey: { id: verified.key.id, scopes: verified.key.scopes, expiresAt: verified.key.expiresAt },
    ...(withAccess ? { access: accessOf(access) } : {}),
  } satisfies Principal;
}

async function authenticatePassword(c: Context<AppEnv>, creds: Extract<Credentials, { kind: "password" }>, withAccess: boolean) {
  const db = c.get("db");
  const config = c.get("config");
  const username = wellFormedUsername(creds.username);
  // The per-user counter is keyed by a keyed hash of the name: a password typed into the
  // username field never lands in D1 in plain text.
  const keys: FailureKeys = {
    client: clientAddress(c),
    user: username && (await hashSecret(`user:${username}`, config.peppers.current)).slice(0, 32),
  };
  // The attempt is counted before the KDF and before any check, so a burst of concurrent
  // guesses cannot all pass a stale count, and a throttled guesser cannot make us burn CPU.
  const counting = countAttemptQueries(db, keys);
  const named = db.select({ id: users.id }).from(users).where(eq(users.username, username ?? ""));
  const [found, ...rest] = await db.batch([
    db.select().from(users).where(eq(users.username, username ?? "")),
    ...counting,
    ...(withAccess ? accessQueries(db, named) : []),
  ]);
  const counted = rest.slice(0, counting.length);
  assertNotThrottled(counted.flat() as { key: string; windowStart: Date; count: number }[], keys, "after");
  const user = found[0];
  let ok = false;
  if (user?.passwordHash) ok = verifyPassword(creds.password, user.passwordHash);
  else burnPasswordCheck(creds.password, config.passwordParams);
  if (!user || !ok || !user.enabled) {
    // Only an existing user's name is recorded; an unknown one might be a mistyped secret.
    await auditFailure(db, actorOf(c), user ? user.username : undefined, { method: "password", username: user?.username ?? null });
    throw unauthorized();
  }
  defer(c, forgiveAttempt(db, keys));
  const now = new Date();
  const set: Partial<typeof users.$inferInsert> = {};
  if (!user.lastLoginAt || now.getTime() - user.lastLoginAt.getTime() >= LAST_LOGIN_GRANULARITY_MS) set.lastLoginAt = now;
  if (needsRehash(user.passwordHash!, config.passwordParams)) {
    set.passwordHash = hashPassword(creds.password, config.passwordParams);
  }
  if (Object.keys(set).length > 0) defer(c, db.update(users).set(set).where(eq(users.id, user.id)));
  return {
    user,
    method: "password",
    ...(withAccess ? { access: accessOf(rest.slice(counting.length)) } : {}),
  } satisfies Principal;
}

/**
 * Verifies credentials (401 or 429 on failure, counted and audited). `withAccess` also loads
 * the caller's grants and the public repositories in the same D1 round trip (for /v2/auth).
 */
export function verifyCredentials(c: Context<AppEnv>, creds: Credentials, withAccess = false): Promise<Principal> {
  return creds.kind === "api_key" ? authenticateApiKey(c, creds, withAccess) : authenticatePassword(c, creds, withAccess);
}

/** The caller named by an Authorization header (Basic or Bearer), or null when there is none. */
export async function principalFromHeader(c: Context<AppEnv>, withAccess = false): Promise<Principal | null> {
  const header = c.req.header("authorization");
  return header ? verifyCredentials(c, parseAuthorization(header), withAccess) : null;
}

/** Resolves the caller from the Authorization header (if any) into c.var.principal. */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  c.set("principal", await principalFromHeader(c));
  await next();
});

/** Requires a signed-in caller. */
export const requireUser = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("principal")) throw unauthorized("Authentication required");
  await next();
});

/** Requires a signed-in superuser. */
export const requireSuperuser = createMiddleware<AppEnv>(async (c, next) => {
  const principal = c.get("principal");
  if (!principal) throw unauthorized("Authentication required");
  if (!principal.user.superuser) throw new ApiError("forbidden", "Superuser rights required");
  await next();
});

/** The signed-in user; only valid behind requireUser. */
export function currentUser(c: Context<AppEnv>) {
  const principal = c.get("principal");
  if (!principal) throw unauthorized("Authentication required");
  return principal;
}
