import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { csrfTokenFor } from "../credentials/sessions";
import { verifyCredential } from "../credentials/verify";
import { safeEqual } from "../crypto/secrets";
import type { Principal } from "../domain/access";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { verifyContext } from "./request";

/*
 * The session cookie at the HTTP edge (SPEC §4.6): its name and attributes, reading it into a
 * principal, the CSRF rule for cookie-authenticated requests that change state, and Quay's
 * fresh-login rule for sensitive actions.
 */

/** A `__Host-` cookie needs HTTPS; plain-HTTP local development gets the same cookie without it. */
const NAMES = { secure: "__Host-keyward_session", plain: "keyward_session" } as const;

function isSecure(c: Context<AppEnv>): boolean {
  return new URL(c.req.url).protocol === "https:" || c.get("config").environment === "production";
}

export function sessionCookieName(c: Context<AppEnv>): string {
  return isSecure(c) ? NAMES.secure : NAMES.plain;
}

/** Requests whose stale session cookie this response clears (the browser will not send it again). */
const cleared = new WeakSet<Context<AppEnv>>();

export function readSessionCookie(c: Context<AppEnv>): string | undefined {
  if (cleared.has(c)) return undefined;
  const value = getCookie(c, sessionCookieName(c));
  return value && value.length <= 128 ? value : undefined;
}

/** Sets the cookie: HttpOnly, SameSite=Lax, Path=/, Secure (and `__Host-`) over HTTPS. */
export function setSessionCookie(c: Context<AppEnv>, value: string, maxAgeMs?: number): void {
  setCookie(c, sessionCookieName(c), value, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: isSecure(c),
    ...(maxAgeMs ? { maxAge: Math.floor(maxAgeMs / 1000) } : {}),
  });
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  cleared.add(c);
  deleteCookie(c, sessionCookieName(c), { path: "/", secure: isSecure(c), httpOnly: true, sameSite: "Lax" });
}

const CSRF_MESSAGE = "CSRF token was invalid or missing.";

/** Quay's refusal, verbatim: 403 `{"error": "CSRF token was invalid or missing."}`. */
export const csrfError = () => new ApiError("forbidden", CSRF_MESSAGE, {}, { error: CSRF_MESSAGE });

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The CSRF token the request carries: the X-CSRF-Token header, or a form's `_csrf_token` field. */
async function presentedCsrfToken(c: Context<AppEnv>): Promise<string | undefined> {
  const header = c.req.header("x-csrf-token");
  if (header !== undefined) return header;
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/x-www-form-urlencoded") && !type.startsWith("multipart/form-data")) return undefined;
  // An unreadable form (bad multipart, another charset) carries no token: refused, never a 500.
  const form = await c.req.parseBody({ all: true }).catch(() => null);
  const field = form?._csrf_token;
  return typeof field === "string" ? field : undefined;
}

/** Refuses (403) unless the request carries the CSRF token bound to `cookieValue`; constant time. */
export async function assertCsrf(c: Context<AppEnv>, cookieValue: string | undefined): Promise<void> {
  const presented = await presentedCsrfToken(c);
  if (!cookieValue || !presented || !safeEqual(presented, await csrfTokenFor(cookieValue, c.get("config")))) {
    throw csrfError();
  }
}

/**
 * The caller named by the session cookie, or null (no cookie, a pre-sign-in nonce, or a
 * session that has ended — then the stale cookie is cleared). Only a kss_ secret in the cookie
 * is a session (domain/trust.ts, boundary "cookie"). A cookie-authenticated request that
 * changes state must carry the session's CSRF token.
 */
export async function principalFromSession(c: Context<AppEnv>): Promise<Principal | null> {
  const value = readSessionCookie(c);
  if (!value?.startsWith("kss_")) return null;
  const verification = await verifyCredential(verifyContext(c), { username: null, value }, { boundary: "cookie" });
  if (!verification.ok) {
    clearSessionCookie(c);
    return null;
  }
  if (!SAFE_METHODS.has(c.req.method)) await assertCsrf(c, value);
  return verification.principal;
}

/** Quay's `require_fresh_login` refusal, with keyward's own error object beside it. */
export function freshLoginRequired(c: Context<AppEnv>): ApiError {
  const message = "Requires fresh login";
  const base = new URL(c.req.url).origin;
  return new ApiError(
    "unauthorized",
    message,
    {},
    {
      detail: message,
      error_message: message,
      error_type: "fresh_login_required",
      title: "fresh_login_required",
      type: `${base}/api/v1/error/fresh_login_required`,
      status: 401,
      error: { code: "fresh_login_required", message, requestId: c.get("requestId") },
    },
  );
}

/** Whether a session principal signed in (or verified its password) within the fresh-login window. */
export function isFresh(c: Context<AppEnv>, principal: Principal): boolean {
  if (principal.lineage.kind !== "session") return true;
  return Date.now() - principal.lineage.signedInAt.getTime() <= c.get("config").sessions.freshLoginMs;
}

/**
 * Sensitive actions through a session need a recent password (Quay's require_fresh_login):
 * creating keys and tokens, resetting the built-in key, rotating signing keys, user
 * administration. Basic and Bearer callers present their credential on every request.
 */
export const requireFreshLogin = createMiddleware<AppEnv>(async (c, next) => {
  const principal = c.get("principal");
  if (principal && !isFresh(c, principal)) throw freshLoginRequired(c);
  await next();
});
