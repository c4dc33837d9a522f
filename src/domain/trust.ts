import { parseSecret } from "../crypto/secrets";
import { isNarrowed, type Principal } from "./access";

/*
 * keyward's trust boundaries, written down in one place. Every place that accepts a
 * credential or a signed token asks one of these small functions; test/security/
 * trust-boundaries.test.ts holds the table that pins them.
 *
 * | where                         | accepts                       | issued by               | for            | may do                                   |
 * |-------------------------------|-------------------------------|-------------------------|----------------|------------------------------------------|
 * | keyward's APIs (Basic/Bearer) | password, API key (zak_)      | keyward (user, superuser) | keyward        | what the user may, narrowed by key scopes |
 * | /v2/auth Basic or password grant | password, API key, registry token (krt_) | keyward | a registry's `service` (never keyward's own) | a JWT for what the credential may |
 * | /v2/auth refresh_token grant  | refresh token (krf_)          | keyward at /v2/auth     | the service it was minted for | what its parent credential may, while the parent lives |
 * | the session cookie            | session (kss_), only in the cookie; state changes need the session's CSRF token | keyward at sign-in (password only) | keyward | what the user may; sensitive actions need a sign-in within the fresh-login window |
 * | sign-in (/api/v1/signin, console) | password only, with the pre-session's CSRF token | the user | keyward | start a session |
 * | Kallithea JSON-RPC `api_key`  | API key (zak_) only           | keyward (user, superuser) | keyward        | the methods the user may, narrowed by key scopes (admin methods need an unnarrowed superuser key) |
 * | keyserver PUT/DELETE          | a JWT (typ JWT) signed by the key itself or an approved key of that service, iss = the service, aud = keyward's audience, single-use jti | the service | keyward's keyserver | register/rotate/delete that service's keys — never keyward's own |
 * | registries (JWT access tokens) | keyward's access tokens (typ at+jwt) | keyward | one registry `service` | the `access` claim |
 * | /oauth/introspect (the caller) | password, API key (Basic/Bearer), or the session cookie | keyward | keyward | learn about its own credentials; an unnarrowed superuser about anyone's |
 * | /oauth/introspect (the `token`) | any keyward secret, or keyward's own access token (verified like a registry would) | keyward | — | nothing: it is looked at, never used |
 * | /oauth/revoke (the `token`)   | any keyward secret; possession suffices (a caller's credential, if sent, must be valid) | keyward | — | end that secret and its children; access tokens cannot be revoked (400) |
 * | /credentials/revoke (leak report) | keyward secrets in the body; no credential at all (an Authorization header is refused) | anyone who found one | — | end those secrets; learns nothing about which were valid |
 * | a rotated credential's old secret (api, rpc, v2auth) | the API key's or registry token's previous secret, until its sunset (deprecated_secrets) | keyward, at rotation | as its credential | what its credential may, ending at the sunset (what it mints ends with it; it creates and rotates nothing) — see deprecatedSecretMay |
 * | rotation (…/rotate, …/deprecated-secrets/{id}) | password, session, or the API key itself or its ancestor | keyward | keyward | give the credential a new secret; a deprecated secret may end, never rotate |
 * | /api/v1/superuser/webhooks, /api/v1/superuser/policy | password, session, or an unnarrowed superuser API key | keyward | keyward | manage webhook endpoints and the lifetime policy (superusers only) |
 *
 * keyward's access tokens authenticate nothing at keyward itself. Every use of an API key or a
 * registry token also counts against that credential's own rate limit (CREDENTIAL_RATE_LIMIT).
 */

export type PresentedKind = "password" | "api_key" | "registry_token" | "refresh_token" | "session" | "access_token";
export type Boundary = "api" | "cookie" | "signin" | "rpc" | "v2auth" | "v2auth_refresh";

export const ACCEPTED: Record<Boundary, readonly PresentedKind[]> = {
  api: ["password", "api_key"],
  // The session cookie, and only it, carries a session secret (never an Authorization header).
  cookie: ["session"],
  // Signing in (a session) takes a password only: a key signing in would shed its scopes.
  signin: ["password"],
  rpc: ["api_key"],
  v2auth: ["password", "api_key", "registry_token"],
  v2auth_refresh: ["refresh_token"],
};

export function accepts(boundary: Boundary, kind: PresentedKind): boolean {
  return ACCEPTED[boundary].includes(kind);
}

const KIND_OF_PREFIX = { zak: "api_key", krt: "registry_token", krf: "refresh_token", kss: "session" } as const;
const SECRET_SHAPE = /^(zak|krt|krf|kss)_/;
const JWT_SHAPE = /^ey[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * What a presented value is, by its shape alone (no I/O): a keyward secret (checksum valid),
 * a malformed one (`null`: refused before any read), a JWT, or else a password.
 */
export function presentedKind(value: string): PresentedKind | null {
  if (SECRET_SHAPE.test(value)) {
    const prefix = parseSecret(value);
    return prefix ? KIND_OF_PREFIX[prefix] : null;
  }
  return JWT_SHAPE.test(value) ? "access_token" : "password";
}

/** keyward's own names, which no registry service and no keyserver service may take. */
export function reservedNames(config: { issuer: string; audience: string }): Set<string> {
  return new Set([KEYWARD_SERVICE, config.issuer, config.audience]);
}

/** keyward's own signing keys live under this service; only keyward manages them. */
export const KEYWARD_SERVICE = "keyward";

/** The `typ` of the JWTs keyward issues (RFC 9068), which no keyward endpoint accepts. */
export const ACCESS_TOKEN_TYP = "at+jwt";

/**
 * The keyserver's boundary: a JWT proving possession for `service`. Accepted only with a
 * plain `typ` (JWT or none — never keyward's `at+jwt`), an issuer that is the service and not
 * keyward, for keyward's audience, with a `jti` (single use) and an `exp` (checked by jose).
 */
export function keyserverJwtRefusal(
  header: { typ?: unknown },
  claims: { iss?: unknown; jti?: unknown },
  service: string,
  config: { issuer: string; audience: string },
): string | null {
  if (reservedNames(config).has(service)) return `Service "${service}" is keyward's own: its keys are managed by keyward alone`;
  if (header.typ !== undefined && String(header.typ).toUpperCase() !== "JWT") return "JWT typ must be JWT";
  if (claims.iss === config.issuer) return "Tokens issued by keyward cannot authenticate at keyward";
  if (typeof claims.jti !== "string" || claims.jti.length === 0 || claims.jti.length > 255) return "JWT must carry a jti";
  return null;
}

/**
 * Introspection's visibility rule: a caller learns about the credentials that carry its own
 * rights (an access token's owner is its `uid` claim, never its `sub`, which may be a registry
 * token's name that a user shares); an unnarrowed superuser about anyone's. Anything else reads as inactive — exactly
 * like an unknown token, so probing someone else's secret teaches nothing.
 */
export function mayIntrospect(caller: Pick<Principal, "user" | "lineage">, owner: { userId: string }): boolean {
  if (caller.user.superuser && !isNarrowed(caller)) return true;
  return owner.userId === caller.user.id;
}

/** What a rotated credential's old secret might be asked to do. */
export type DeprecatedSecretAction = "authenticate" | "mint_token" | "create_key" | "rotate" | "end_old_secret";

const DEPRECATED_SECRET_MAY: Record<DeprecatedSecretAction, boolean> = {
  // As its credential, with the credential's rights; the lineage's expiry is capped at the sunset.
  authenticate: true,
  // Access and refresh tokens: theirs end at the sunset too (refresh tokens carry its id).
  mint_token: true,
  // A new key or a new secret would outlive it.
  create_key: false,
  rotate: false,
  // Ending an old secret early only takes rights away.
  end_old_secret: true,
};

/**
 * What a rotated credential's old secret (deprecated, until its sunset) may do: work as its
 * credential until then, and make nothing that would outlive it.
 */
export function deprecatedSecretMay(action: DeprecatedSecretAction): boolean {
  return DEPRECATED_SECRET_MAY[action];
}
