import type { Lineage } from "../domain/access";

/*
 * Whether a credential is alive, written once: verification (credentials/verify.ts) refuses a
 * credential for these reasons, and introspection (credentials/inspect.ts) calls exactly the
 * same credential inactive. Each function answers null (alive) or the reason it is not.
 * What only a use can get wrong — the username typed beside it, the service asked for — is
 * verification's own check.
 */

const isPast = (date: Date | null, now: number) => date !== null && date.getTime() <= now;

interface Owner {
  user: { enabled: boolean };
}

export function apiKeyState(key: Owner & { expiresAt: Date | null }, now = Date.now()): "user_disabled" | "expired" | null {
  if (!key.user.enabled) return "user_disabled";
  return isPast(key.expiresAt, now) ? "expired" : null;
}

export function registryTokenState(
  token: Owner & { status: string; expiresAt: Date | null },
  now = Date.now(),
): "disabled" | "expired" | "user_disabled" | null {
  if (token.status !== "enabled") return "disabled";
  if (isPast(token.expiresAt, now)) return "expired";
  return token.user.enabled ? null : "user_disabled";
}

export function sessionState(session: Owner & { expiresAt: Date }, now = Date.now()): "expired" | "user_disabled" | null {
  if (isPast(session.expiresAt, now)) return "expired";
  return session.user.enabled ? null : "user_disabled";
}

/** A rotated credential's old secret: refused from its sunset on (its credential's state applies too). */
export function deprecatedState(secret: { sunsetAt: Date }, now = Date.now()): "sunset" | null {
  return isPast(secret.sunsetAt, now) ? "sunset" : null;
}

/** The earlier of a credential's expiry and its deprecated secret's sunset: when what it mints must end. */
export function cappedAtSunset(expiresAt: Date | null, sunsetAt: Date | undefined): Date | null {
  if (!sunsetAt) return expiresAt;
  return expiresAt && expiresAt < sunsetAt ? expiresAt : sunsetAt;
}

/** A refresh token's parent, as read beside it: dead with it, or alive with its narrowing. */
export interface RefreshParents {
  key: { id: string; scopes: string[] | null; expiresAt: Date | null } | undefined;
  token:
    | {
        id: string;
        name: string;
        scopes: { type: "repository" | "registry"; name: string; actions: string[] }[];
        status: string;
        expiresAt: Date | null;
        service: string;
      }
    | undefined;
  /** The deprecated secret it was minted with, if it was (read by the token's deprecatedSecretId). */
  deprecated?: { id: string; sunsetAt: Date } | undefined;
}

export function refreshTokenState(
  token: Owner & { via: string; expiresAt: Date; service: string; deprecatedSecretId?: string | null },
  parents: RefreshParents,
  now = Date.now(),
): string | null {
  if (isPast(token.expiresAt, now)) return "expired";
  if (!token.user.enabled) return "user_disabled";
  // Minted with a secret a rotation deprecated: it ends with that secret.
  if (token.deprecatedSecretId && (!parents.deprecated || deprecatedState(parents.deprecated, now))) return "parent_rotated";
  if (token.via === "api_key") {
    if (!parents.key) return "parent_revoked";
    return isPast(parents.key.expiresAt, now) ? "parent_expired" : null;
  }
  if (token.via === "registry_token") {
    const parent = parents.token;
    if (!parent) return "parent_revoked";
    if (parent.status !== "enabled") return "parent_disabled";
    if (isPast(parent.expiresAt, now)) return "parent_expired";
    // The parent's registry moved to another service: its refresh tokens serve no one.
    return parent.service !== token.service ? "wrong_service" : null;
  }
  return null;
}

/** The lineage a refresh token carries: its parent's (a password, a key, a registry token); null when that is gone. */
export function refreshParentLineage(via: string, parents: RefreshParents): Exclude<Lineage, { kind: "refresh_token" }> | null {
  if (via === "password") return { kind: "password" };
  const sunsetAt = parents.deprecated?.sunsetAt;
  if (via === "api_key" && parents.key) {
    const key = parents.key;
    return { kind: "api_key", id: key.id, scopes: key.scopes, expiresAt: cappedAtSunset(key.expiresAt, sunsetAt) };
  }
  if (via === "registry_token" && parents.token) {
    const t = parents.token;
    return { kind: "registry_token", id: t.id, name: t.name, scopes: t.scopes, expiresAt: cappedAtSunset(t.expiresAt, sunsetAt) };
  }
  return null;
}
