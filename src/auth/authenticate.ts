import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { type Presented, type Verification, type VerifyOptions, verifyCredential } from "../credentials/verify";
import { isNarrowed, type Principal } from "../domain/access";
import type { AppEnv } from "../env";
import { ApiError, unauthorized } from "../errors";
import { verifyContext } from "./request";
import { principalFromSession } from "./session";

/*
 * The HTTP edge of authentication: parse Basic/Bearer, hand the credential to the core
 * (credentials/verify.ts), and turn its refusals into 401/429. What each place accepts is
 * written down in domain/trust.ts.
 */

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
export function presentedIn(header: string): Presented {
  const pair = basicPair(header);
  if (pair) return { username: pair.username, value: pair.password };
  const space = header.indexOf(" ");
  if (space > 0 && header.slice(0, space).toLowerCase() === "bearer") {
    return { username: null, value: header.slice(space + 1).trim() };
  }
  throw unauthorized("Unsupported authorization scheme");
}

const NOT_ACCEPTED: Record<string, string> = {
  access_token: "keyward's access tokens are for registries: they authenticate nothing at keyward",
  registry_token: "Registry tokens log in only at /v2/auth",
  refresh_token: "Refresh tokens are redeemed only with grant_type=refresh_token at /v2/auth",
  bearer_password: "Invalid bearer token",
};

/** The principal, or the refusal as the error the caller sees (never saying whether a user exists). */
export function principalOrThrow(verification: Verification, invalidMessage = "Invalid credentials"): Principal {
  if (verification.ok) return verification.principal;
  switch (verification.reason) {
    case "throttled":
      throw new ApiError("rate_limited", "Too many failed sign-in attempts; try again later", {
        "Retry-After": String(verification.retryAfter ?? 1),
      });
    case "over_rate_limit":
      throw new ApiError("rate_limited", "This credential is over its rate limit; try again later", {
        "Retry-After": String(verification.retryAfter ?? 60),
      });
    case "wrong_service":
      throw unauthorized("This credential belongs to another registry's service");
    case "not_accepted":
      throw unauthorized(NOT_ACCEPTED[verification.detail] ?? "This kind of credential is not accepted here");
    case "invalid":
      throw unauthorized(invalidMessage);
  }
}

/**
 * Verifies what the caller presented at `options.boundary`; 401/429 on failure (counted,
 * audited). The principal is the request's from then on (the audit actor, and a rotated
 * secret's Deprecation/Sunset headers on whatever the response is).
 */
export async function verifyPresented(
  c: Context<AppEnv>,
  presented: Presented,
  options: VerifyOptions,
  invalidMessage?: string,
): Promise<Principal> {
  const principal = principalOrThrow(await verifyCredential(verifyContext(c), presented, options), invalidMessage);
  c.set("principal", principal);
  return principal;
}

/** The caller named by an Authorization header (Basic or Bearer), or null when there is none. */
export async function principalFromHeader(c: Context<AppEnv>, options: VerifyOptions): Promise<Principal | null> {
  const header = c.req.header("authorization");
  return header ? verifyPresented(c, presentedIn(header), options) : null;
}

/**
 * Resolves the caller into c.var.principal (keyward's APIs): the Authorization header if there
 * is one, else the session cookie (whose state-changing requests need the CSRF token).
 */
export const authenticate = createMiddleware<AppEnv>(async (c, next) => {
  const header = c.req.header("authorization");
  c.set("principal", header ? await verifyPresented(c, presentedIn(header), { boundary: "api" }) : await principalFromSession(c));
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
  // A key narrowed to some repositories is no key to the whole installation.
  if (isNarrowed(principal)) throw new ApiError("forbidden", "A key narrowed by scopes or an expiry cannot use superuser routes");
  await next();
});

/** Requires a credential with its user's full rights (no key narrowed by scopes or an expiry). */
export const requireUnnarrowed = createMiddleware<AppEnv>(async (c, next) => {
  const principal = c.get("principal");
  if (principal && isNarrowed(principal)) throw new ApiError("forbidden", "A key narrowed by scopes or an expiry cannot do this");
  await next();
});

/** The signed-in user; only valid behind requireUser. */
export function currentUser(c: Context<AppEnv>): Principal {
  const principal = c.get("principal");
  if (!principal) throw unauthorized("Authentication required");
  return principal;
}
