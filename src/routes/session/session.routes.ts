import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireUser } from "../../auth/authenticate";
import { basicOrBearer, jsonBody, jsonResponse, keyApiBodyLimit, notFoundError, standardErrors } from "../common";

const tags = ["Sessions (Quay API v1)"];

const Success = z.object({ success: z.literal(true) }).openapi("Success");

const SigninFailure = z
  .object({ needsEmailVerification: z.literal(false), invalidCredentials: z.literal(true), message: z.string() })
  .openapi("SigninFailure");

const CsrfFailure = z.object({ error: z.literal("CSRF token was invalid or missing.") }).openapi("CsrfFailure");

const forbidden = {
  description: "Wrong credentials (Quay's sign-in body) or a missing/wrong CSRF token",
  content: { "application/json": { schema: z.union([SigninFailure, CsrfFailure]) } },
};

export const csrfTokenRoute = createRoute({
  method: "get",
  path: "/csrf_token",
  tags,
  summary: "A CSRF token bound to the session cookie (set here before sign-in)",
  responses: {
    200: jsonResponse(z.object({ csrf_token: z.string() }), "The token to send as X-CSRF-Token (or the _csrf_token form field)"),
  },
});

export const SigninBody = z
  .object({
    username: z.string().min(1).max(256),
    password: z.string().min(1).max(1024),
    invite_code: z.string().max(256).optional().openapi({ description: "Quay's; ignored" }),
  })
  .strict()
  .openapi("Signin");

export const signinRoute = createRoute({
  method: "post",
  path: "/api/v1/signin",
  tags,
  summary: "Sign in with a password; starts a new session (cookie) and answers the next CSRF token",
  description: "Needs the X-CSRF-Token from GET /csrf_token (with its cookie). Throttled like Basic sign-in.",
  middleware: [keyApiBodyLimit],
  request: { body: jsonBody(SigninBody) },
  responses: {
    200: {
      ...jsonResponse(Success, "Signed in"),
      headers: { "X-Next-CSRF-Token": { schema: { type: "string" }, description: "The new session's CSRF token" } },
    },
    400: standardErrors[400],
    403: forbidden,
    413: standardErrors[413],
    429: standardErrors[429],
  },
});

export const verifyRoute = createRoute({
  method: "post",
  path: "/api/v1/signin/verify",
  tags,
  summary: "Confirm the password again: the session counts as freshly signed in",
  middleware: [keyApiBodyLimit, authenticate, requireUser],
  request: {
    body: jsonBody(
      z
        .object({ password: z.string().min(1).max(1024) })
        .strict()
        .openapi("VerifyPassword"),
    ),
  },
  responses: { 200: jsonResponse(Success, "Verified"), ...standardErrors, 403: forbidden },
});

export const signoutRoute = createRoute({
  method: "post",
  path: "/api/v1/signout",
  tags,
  summary: "Sign out: ends every session of the user (not only this browser's)",
  middleware: [authenticate],
  responses: { 200: jsonResponse(Success, "Signed out"), ...standardErrors },
});

const SessionView = z
  .object({
    id: z.uuid(),
    current: z.boolean().openapi({ description: "The session this request came with" }),
    createdAt: z.string(),
    signedInAt: z.string().openapi({ description: "Last password sign-in or verify (fresh login)" }),
    lastUsedAt: z.string().nullable(),
    lastUsedIp: z.string().nullable(),
    expiresAt: z.string().openapi({ description: "Idle or absolute expiry, whichever comes first" }),
    userAgent: z.string().nullable(),
    ip: z.string().nullable(),
  })
  .openapi("Session");

export const listSessionsRoute = createRoute({
  method: "get",
  path: "/api/v1/user/sessions",
  tags,
  summary: "The caller's sessions (never their secrets)",
  security: basicOrBearer,
  middleware: [authenticate, requireUser],
  responses: { 200: jsonResponse(z.object({ sessions: z.array(SessionView) }), "Sessions"), ...standardErrors },
});

export const revokeSessionRoute = createRoute({
  method: "delete",
  path: "/api/v1/user/sessions/{id}",
  tags,
  summary: "End one of the caller's sessions",
  security: basicOrBearer,
  middleware: [authenticate, requireUser],
  request: {
    params: z.object({
      id: z.uuid({ error: "must be a session id (a UUID)" }).openapi({ param: { name: "id", in: "path" } }),
    }),
  },
  responses: { 204: { description: "Ended" }, ...standardErrors, ...notFoundError },
});
