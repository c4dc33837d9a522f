import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { currentUser } from "../../auth/authenticate";
import { actorOf, clientAddress, verifyContext } from "../../auth/request";
import { assertCsrf, clearSessionCookie, readSessionCookie, setSessionCookie } from "../../auth/session";
import {
  csrfTokenFor,
  endAllSessions,
  endSessionBySecret,
  listSessions,
  newNonce,
  refreshSignIn,
  revokeSession,
  SessionRefused,
  startSession,
} from "../../credentials/sessions";
import { verifyCredential } from "../../credentials/verify";
import { isNarrowed, type Principal } from "../../domain/access";
import type { AppEnv } from "../../env";
import { ApiError, forbidden } from "../../errors";
import { printableOnly } from "../common";
import type {
  csrfTokenRoute,
  listSessionsRoute,
  revokeSessionRoute,
  signinRoute,
  signoutRoute,
  verifyRoute,
} from "./session.routes";

/** Quay's 403 for a wrong username or password (the same whichever was wrong). */
function invalidCredentials(message: string): ApiError {
  return new ApiError("forbidden", message, {}, { needsEmailVerification: false, invalidCredentials: true, message });
}

/**
 * The password check of sign-in and verify: throttled exactly like Basic sign-in (the same
 * counters), a password only (boundary "signin": a key signing in would shed its scopes).
 */
export async function checkPassword(c: Context<AppEnv>, username: string, password: string, message: string): Promise<Principal> {
  const verification = await verifyCredential(verifyContext(c), { username, value: password }, { boundary: "signin" });
  if (verification.ok) return verification.principal;
  if (verification.reason === "throttled") {
    throw new ApiError("rate_limited", "Too many failed sign-in attempts; try again later", {
      "Retry-After": String(verification.retryAfter ?? 1),
    });
  }
  throw invalidCredentials(message);
}

/** Starts a session for a verified password: a new secret in the cookie, the old session ended. */
export async function signIn(c: Context<AppEnv>, principal: Principal): Promise<string> {
  const previous = readSessionCookie(c);
  const config = c.get("config");
  const { secret } = await startSession(c.get("db"), config, actorOf(c), principal.user, {
    userAgent: printableOnly(c.req.header("user-agent") ?? "").slice(0, 256) || null,
    ip: clientAddress(c),
  }).catch((err) => {
    // The account changed while the password was checked: sign in again.
    if (err instanceof SessionRefused) throw invalidCredentials("Invalid username or password");
    throw err;
  });
  // No fixation: the browser's previous session (if any) ends; the new one has a new secret.
  if (previous?.startsWith("kss_")) await endSessionBySecret(c.get("db"), config, previous);
  setSessionCookie(c, secret, config.sessions.maxMs);
  return csrfTokenFor(secret, config);
}

export const csrfToken: RouteHandler<typeof csrfTokenRoute, AppEnv> = async (c) => {
  // The token is bound to whatever the cookie holds; a browser without one gets a nonce. No read.
  let value = readSessionCookie(c);
  if (!value) {
    value = newNonce();
    setSessionCookie(c, value);
  }
  return c.json({ csrf_token: await csrfTokenFor(value, c.get("config")) }, 200);
};

export const signin: RouteHandler<typeof signinRoute, AppEnv> = async (c) => {
  await assertCsrf(c, readSessionCookie(c));
  const { username, password } = c.req.valid("json");
  const principal = await checkPassword(c, username, password, "Invalid username or password");
  c.header("X-Next-CSRF-Token", await signIn(c, principal));
  return c.json({ success: true as const }, 200);
};

export const verify: RouteHandler<typeof verifyRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  if (lineage.kind !== "session") throw new ApiError("bad_request", "Only a browser session verifies its password");
  await checkPassword(c, user.username, c.req.valid("json").password, "Invalid password");
  await refreshSignIn(c.get("db"), actorOf(c), lineage.id, user.id);
  return c.json({ success: true as const }, 200);
};

export const signout: RouteHandler<typeof signoutRoute, AppEnv> = async (c) => {
  const principal = c.get("principal");
  if (principal && isNarrowed(principal)) throw forbidden(NARROWED_SESSIONS);
  if (principal) await endAllSessions(c.get("db"), actorOf(c), principal.user.id);
  // Only a cookie the request carried is cleared: a cross-site POST arrives without it
  // (SameSite=Lax), and must not be able to log the browser out.
  if (readSessionCookie(c)) clearSessionCookie(c);
  return c.json({ success: true as const }, 200);
};

const NARROWED_SESSIONS = "A key narrowed by scopes or an expiry cannot see or end browser sessions";

export const list: RouteHandler<typeof listSessionsRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  if (isNarrowed(currentUser(c))) throw forbidden(NARROWED_SESSIONS);
  const rows = await listSessions(c.get("db"), user);
  return c.json(
    {
      sessions: rows.map((s) => ({
        id: s.id,
        current: lineage.kind === "session" && lineage.id === s.id,
        createdAt: s.createdAt.toISOString(),
        signedInAt: s.signedInAt.toISOString(),
        lastUsedAt: s.lastUsedAt?.toISOString() ?? null,
        lastUsedIp: s.lastUsedIp,
        expiresAt: s.expiresAt.toISOString(),
        userAgent: s.userAgent,
        ip: s.ip,
      })),
    },
    200,
  );
};

export const revoke: RouteHandler<typeof revokeSessionRoute, AppEnv> = async (c) => {
  if (isNarrowed(currentUser(c))) throw forbidden(NARROWED_SESSIONS);
  await revokeSession(c.get("db"), actorOf(c), currentUser(c).user, c.req.valid("param").id);
  return c.body(null, 204);
};
