import type { User } from "../db/schema";

/*
 * The domain's words for who may do what. A leaf: imports nothing from auth/, services/ or
 * config, so both the credential core and the HTTP edge can use it without a cycle.
 */

export const ROLES = ["read", "write", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_ACTIONS: Record<Role, readonly string[]> = {
  read: ["pull"],
  write: ["pull", "push"],
  admin: ["pull", "push", "delete", "*"],
};

/** Every action a scope may name; an API key's repository glob allows all of them. */
export const ALL_ACTIONS = ["pull", "push", "delete", "*"] as const;

export interface Grant {
  pattern: string;
  role: Role;
}

/**
 * One entry of a credential's narrowing: on repositories (or the registry catalog) matching
 * `name` (a glob), at most `actions`. An IONOS registry token's scopes are such entries; an
 * API key's scopes are globs, each allowing every action.
 */
export interface Scope {
  type: "repository" | "registry";
  name: string;
  actions: string[];
}

/** Who is calling, and through which credential. */
export interface Principal {
  /** The user whose rights the credential carries (for a registry token: its creator). */
  user: User;
  /** The credential used, and what it descends from (see Lineage). */
  lineage: Lineage;
  /** Grants and public repositories, when loaded in the same round trip as the credential. */
  access?: { grants: Grant[]; publicPatterns: string[] };
}

/**
 * What a credential is and where it came from. Rights only narrow down a lineage: a child
 * carries its parent's narrowing and dies with it.
 */
export type Lineage =
  | { kind: "password" }
  // A browser session: signed in with a password at `signedInAt` (Quay's fresh login).
  | { kind: "session"; id: string; signedInAt: Date }
  | { kind: "api_key"; id: string; scopes: string[] | null; expiresAt: Date | null; deprecated?: Deprecation }
  | { kind: "registry_token"; id: string; name: string; scopes: Scope[]; expiresAt: Date | null; deprecated?: Deprecation }
  | { kind: "refresh_token"; id: string; parent: Exclude<Lineage, { kind: "refresh_token" }> };

/**
 * The secret presented was a rotated credential's old one (deprecated_secrets): it works until
 * `sunsetAt` (the lineage's expiresAt is capped there), and what it mints ends with it.
 */
export interface Deprecation {
  id: string;
  deprecatedAt: Date;
  sunsetAt: Date;
}

export type CredentialKind = Lineage["kind"];

/** The narrowing a lineage imposes on its user's rights; null = the user's full rights. */
export function narrowingOf(lineage: Lineage): Scope[] | null {
  switch (lineage.kind) {
    case "password":
    case "session":
      return null;
    case "api_key":
      return lineage.scopes?.map((name) => ({ type: "repository", name, actions: [...ALL_ACTIONS] })) ?? null;
    case "registry_token":
      return lineage.scopes;
    case "refresh_token":
      return narrowingOf(lineage.parent);
  }
}

/**
 * Whether a principal's credential is narrowed — by scopes (an API key with scopes, a registry
 * token, or a refresh token of either) or by time (an API key that expires, or a refresh token
 * of one). A narrowed credential acts only on repositories: it manages no users, grants,
 * registries, service keys or signing keys — else it could mint what it lacks, or what outlives
 * it (a superuser, a password, a never-expiring registry token made with a 5-minute key).
 */
export function isNarrowed(principal: Pick<Principal, "lineage">): boolean {
  if (narrowingOf(principal.lineage) !== null) return true;
  const key = apiKeyOf(principal.lineage);
  return key !== null && key.expiresAt !== null;
}

/**
 * A key never sets its own user's password: the password would outlive the key and shed its
 * scopes and expiry (a key turned into the password). The password itself or a browser
 * session may; a superuser's key may still set other users' passwords.
 */
export function mayChangePasswordOf(principal: Pick<Principal, "lineage" | "user">, targetUserId: string): boolean {
  const kind = principal.lineage.kind;
  return targetUserId !== principal.user.id || kind === "password" || kind === "session";
}

/**
 * When the credential behind a lineage stops working (a refresh token's: its parent's), or
 * null: what it mints — an access token, a child key — must not outlive it.
 */
export function credentialExpiry(lineage: Lineage): Date | null {
  if (lineage.kind === "refresh_token") return credentialExpiry(lineage.parent);
  return lineage.kind === "api_key" || lineage.kind === "registry_token" ? lineage.expiresAt : null;
}

/** The API key behind a principal (directly or as a refresh token's parent), if any. */
export function apiKeyOf(lineage: Lineage): Extract<Lineage, { kind: "api_key" }> | null {
  if (lineage.kind === "api_key") return lineage;
  if (lineage.kind === "refresh_token" && lineage.parent.kind === "api_key") return lineage.parent;
  return null;
}

/** Everything needed to decide access for one caller, loaded once per request. */
export interface AccessContext {
  user: Pick<User, "username" | "superuser"> | null;
  grants: Grant[];
  publicPatterns: string[];
  /** The credential's narrowing; null = the user's full rights. */
  narrowing: Scope[] | null;
}

/** Who did it, from where: taken from the request once and passed to services. */
export interface Actor {
  id: string | null;
  name: string | null;
  ip: string | null;
  requestId: string | null;
  /** The credential the actor used (`api_key:<id>`, `password`, …): recorded with every entry. */
  credential?: string;
}

/** How an audit entry names the credential behind a principal. */
export function credentialLabel(lineage: Lineage): string {
  if (lineage.kind === "password") return "password";
  if (lineage.kind === "refresh_token") return `refresh_token:${lineage.id}<${credentialLabel(lineage.parent)}`;
  return `${lineage.kind}:${lineage.id}`;
}
