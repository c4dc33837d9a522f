import { eq, inArray } from "drizzle-orm";
import type { Principal } from "../auth/principal";
import type { Config } from "../config";
import { generateSecret, hashSecret, parseSecret, secretHashes } from "../crypto/secrets";
import type { Db } from "../db/client";
import { refreshTokens, users, type User } from "../db/schema";
import { ApiError, badRequest } from "../errors";
import { allowedActions, globMatches, grantsQuery, publicPatternsQuery, type AccessContext } from "./permissions";
import type { TokenScope } from "./registryTokens";
import { signJwt } from "./signingKeys";

/*
 * The Docker Registry v2 token endpoint's domain: scope grammar, access decisions, the token,
 * and refresh tokens. Actions the caller may not have are dropped, not refused.
 */

export interface AccessEntry {
  type: "repository" | "registry";
  name: string;
  actions: string[];
}

const ACTIONS = new Set(["pull", "push", "delete", "*"]);
// Quay's grammar: an optional registry host (with port) before the repository path.
const REPOSITORY = /^(?:[A-Za-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._-]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._-]|__|-+)[a-z0-9]+)*)*$/;

/** Parses `repository:[host/]name:actions` and `registry:catalog:*`; 400 on bad syntax. */
export function parseScopes(raw: string[]): AccessEntry[] {
  const merged = new Map<string, AccessEntry>();
  for (const scope of raw.flatMap((s) => s.split(" ")).filter(Boolean)) {
    const match = /^(repository|registry):(.+):([^:]*)$/.exec(scope);
    if (!match) throw badRequest(`Invalid scope: ${scope}`);
    const [, type, name, actionList] = match as unknown as [string, "repository" | "registry", string, string];
    const actions = actionList.split(",").filter(Boolean);
    if (actions.length === 0 || actions.some((a) => !ACTIONS.has(a))) throw badRequest(`Invalid actions in scope: ${scope}`);
    if (type === "registry" && name !== "catalog") throw badRequest(`Invalid scope: ${scope}`);
    if (type === "repository" && (name.length > 255 || !REPOSITORY.test(name))) throw badRequest(`Invalid repository name in scope: ${scope}`);
    const key = `${type}:${name}`;
    const entry = merged.get(key) ?? { type, name, actions: [] };
    for (const a of actions) if (!entry.actions.includes(a)) entry.actions.push(a);
    merged.set(key, entry);
  }
  return [...merged.values()];
}

/** The repository path without a registry host prefix (`host:5000/team/app` → `team/app`). */
function repositoryPath(name: string): string {
  const first = name.split("/")[0]!;
  return name.includes("/") && /[.:]/.test(first) ? name.slice(first.length + 1) : name;
}

/** Grants and public repositories: preloaded with the credential, or one D1 round trip. */
export async function loadAccessContext(
  db: Db,
  principal: Pick<Principal, "user" | "apiKey" | "access"> | null,
): Promise<AccessContext> {
  if (principal?.access) {
    return { user: principal.user, ...principal.access, keyScopes: principal.apiKey?.scopes ?? null };
  }
  if (!principal) {
    const publicRows = await publicPatternsQuery(db);
    return { user: null, grants: [], publicPatterns: publicRows.map((r) => r.pattern), keyScopes: null };
  }
  const [grants, publicRows] = await db.batch([grantsQuery(db, principal.user.id), publicPatternsQuery(db)]);
  return {
    user: principal.user,
    grants,
    publicPatterns: publicRows.map((r) => r.pattern),
    keyScopes: principal.apiKey?.scopes ?? null,
  };
}

export function grantAccess(ctx: AccessContext, requested: AccessEntry[]): AccessEntry[] {
  return requested.map((entry) => {
    if (entry.type === "registry") {
      // The catalog lists every repository: superusers only, and never through a narrowed key.
      const ok = ctx.user?.superuser === true && ctx.keyScopes === null;
      return { ...entry, actions: ok ? entry.actions.filter((a) => a === "*") : [] };
    }
    return { ...entry, actions: allowedActions(ctx, repositoryPath(entry.name), entry.actions) };
  });
}

/**
 * A registry token's access: what its scopes allow, and never more than its creator may do
 * (the creator's access context decides the rest).
 */
export function grantTokenAccess(creator: AccessContext, scopes: TokenScope[], requested: AccessEntry[]): AccessEntry[] {
  return grantAccess(creator, requested).map((entry) => {
    const path = entry.type === "repository" ? repositoryPath(entry.name) : entry.name;
    const allowed = new Set(
      scopes.filter((s) => s.type === entry.type && globMatches(s.name, path)).flatMap((s) => s.actions as string[]),
    );
    return { ...entry, actions: entry.actions.filter((a) => allowed.has(a)) };
  });
}

export interface IssuedToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
}

export async function issueRegistryToken(
  db: Db,
  config: Config,
  input: { subject: string; service: string; access: AccessEntry[] },
): Promise<IssuedToken> {
  const now = Math.floor(Date.now() / 1000);
  const ttl = config.tokenTtlSeconds;
  const { token } = await signJwt(
    db,
    config,
    {
      iss: config.issuer,
      sub: input.subject,
      aud: input.service,
      exp: now + ttl,
      nbf: now,
      iat: now,
      jti: crypto.randomUUID(),
      access: input.access,
    },
    ttl,
  );
  return { token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() };
}

// ---- refresh tokens ---------------------------------------------------------------------

export const REFRESH_TOKEN_LIFETIME_MS = 30 * 86_400_000;

/** A `krf_` refresh token bound to the user and service; the secret is returned once. */
export async function createRefreshToken(db: Db, config: Config, user: User, service: string, clientId: string | null) {
  const secret = generateSecret("krf");
  const now = new Date();
  await db.insert(refreshTokens).values({
    id: crypto.randomUUID(),
    userId: user.id,
    service,
    clientId,
    secretHash: await hashSecret(secret, config.peppers.current),
    pepperVersion: config.peppers.current.version,
    createdAt: now,
    expiresAt: new Date(now.getTime() + REFRESH_TOKEN_LIFETIME_MS),
  });
  return secret;
}

/** The user behind a refresh token, if it is valid for this service; else 401. */
export async function redeemRefreshToken(db: Db, config: Config, secret: string, service: string): Promise<Principal> {
  const invalid = new ApiError("unauthorized", "Invalid refresh token");
  if (parseSecret(secret) !== "krf") throw invalid;
  const hashes = await secretHashes(secret, config.peppers);
  const [row] = await db
    .select({ token: refreshTokens, user: users })
    .from(refreshTokens)
    .innerJoin(users, eq(users.id, refreshTokens.userId))
    .where(inArray(refreshTokens.secretHash, hashes))
    .limit(1);
  if (!row || row.token.expiresAt.getTime() <= Date.now() || !row.user.enabled || row.token.service !== service) throw invalid;
  return { user: row.user, method: "password" };
}
