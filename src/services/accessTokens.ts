import { decodeProtectedHeader, type JWTPayload, jwtVerify } from "jose";
import type { Config } from "../config";
import { importPublicJwk, type KeyAlgorithm } from "../crypto/keys";
import type { Db } from "../db/client";
import { type AccessContext, narrowingOf, type Principal } from "../domain/access";
import type { AccessEntry } from "../domain/decisions";
import { ACCESS_TOKEN_TYP, KEYWARD_SERVICE } from "../domain/trust";
import { publicPatternsQuery } from "./permissions";
import { findServiceKey, isKeyExpired } from "./serviceKeys";
import { signJwt } from "./signingKeys";

/*
 * Access tokens: the short-lived JWTs /v2/auth issues for a registry (Docker Registry v2
 * token auth). Not to be confused with IONOS-style registry tokens (krt_), which are
 * credentials that obtain access tokens. They carry `typ: at+jwt` so that nothing at keyward
 * ever takes one for a credential.
 */

/** Grants and public repositories: preloaded with the credential, or (anonymous) one read. */
export async function loadAccessContext(db: Db, principal: Principal | null): Promise<AccessContext> {
  if (!principal) {
    const publicRows = await publicPatternsQuery(db);
    return { user: null, grants: [], publicPatterns: publicRows.map((r) => r.pattern), narrowing: null };
  }
  if (!principal.access) throw new Error("access was not loaded with the credential");
  return { user: principal.user, ...principal.access, narrowing: narrowingOf(principal.lineage) };
}

export interface IssuedAccessToken {
  token: string;
  access_token: string;
  expires_in: number;
  issued_at: string;
  refresh_token?: string;
}

export async function issueAccessToken(
  db: Db,
  config: Config,
  input: { subject: string; service: string; access: AccessEntry[]; ownerId?: string; notAfter?: Date | null },
): Promise<IssuedAccessToken> {
  const now = Math.floor(Date.now() / 1000);
  // Never past the credential it was issued for (a 5-second key mints no 5-minute token).
  const remaining = input.notAfter ? Math.floor(input.notAfter.getTime() / 1000) - now : Number.POSITIVE_INFINITY;
  const ttl = Math.max(1, Math.min(config.tokenTtlSeconds, remaining));
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
      // Whose rights the token carries (`sub` may be a registry token's name, which a user may
      // share): introspection decides ownership by this, never by `sub`.
      ...(input.ownerId ? { uid: input.ownerId } : {}),
    },
    ttl,
    ACCESS_TOKEN_TYP,
  );
  return { token, access_token: token, expires_in: ttl, issued_at: new Date(now * 1000).toISOString() };
}

/**
 * One of keyward's own access tokens, verified as a registry would — signature by a published
 * keyward signing key (the one its `kid` names), `typ` at+jwt, keyward's issuer, not expired —
 * or null. For introspection only: keyward never accepts its access tokens as credentials.
 */
export async function readAccessToken(db: Db, config: Config, token: string): Promise<JWTPayload | null> {
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(token).kid;
  } catch {
    return null;
  }
  if (typeof kid !== "string") return null;
  const key = await findServiceKey(db, kid);
  if (!key || key.service !== KEYWARD_SERVICE || !key.approvedAt || isKeyExpired(key)) return null;
  try {
    const alg = key.alg as KeyAlgorithm;
    const { payload } = await jwtVerify(token, await importPublicJwk(key.jwk, alg), {
      algorithms: [alg],
      issuer: config.issuer,
      typ: ACCESS_TOKEN_TYP,
      requiredClaims: ["exp", "iat", "sub", "aud"],
    });
    return payload;
  } catch {
    return null;
  }
}
