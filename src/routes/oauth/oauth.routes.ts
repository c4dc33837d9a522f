import { createRoute, z } from "@hono/zod-openapi";
import { authenticate } from "../../auth/authenticate";
import { basicOrBearer, jsonResponse, keyApiBodyLimit } from "../common";

const tags = ["OAuth introspection and revocation"];

const TOKEN_TYPES = ["api_key", "registry_token", "refresh_token", "access_token", "session"] as const;

/**
 * RFC 7662 §2.1 / RFC 7009 §2.1: a form with `token` and an optional hint. The prefix of a
 * keyward secret says what it is, so the hint is never needed; unknown request parameters are
 * ignored (RFC 6749 §3.1), a repeated `token` is an error.
 */
const TokenForm = z.object({
  token: z.string().min(1, "token is required").max(4096),
  token_type_hint: z
    .string()
    .max(64)
    .optional()
    .openapi({ description: `One of ${TOKEN_TYPES.join(", ")}; accepted and not needed` }),
});

const form = { required: true, content: { "application/x-www-form-urlencoded": { schema: TokenForm } } };

const OAuthErrorBody = z
  .object({ error: z.string().openapi({ example: "invalid_client" }), error_description: z.string().optional() })
  .openapi("OAuthError");
const oauthError = (description: string) => jsonResponse(OAuthErrorBody, description);

const Introspection = z
  .object({
    active: z.boolean(),
    token_type: z.enum(TOKEN_TYPES).optional(),
    username: z.string().optional().openapi({ description: "The user whose rights the token carries" }),
    sub: z.string().optional().openapi({ description: "Who it logs in as (a registry token: its name)" }),
    scope: z.string().optional().openapi({ description: "Space-separated, Docker's grammar (repository:<glob>:<actions>)" }),
    exp: z.number().int().optional(),
    iat: z.number().int().optional(),
    nbf: z.number().int().optional(),
    client_id: z.string().optional(),
    iss: z.string().optional(),
    aud: z.string().optional().openapi({ description: "The registry service it serves" }),
    jti: z.string().optional().openapi({ description: "The credential's id (an access token: its jti)" }),
  })
  .openapi("Introspection");

export const introspectRoute = createRoute({
  method: "post",
  path: "/oauth/introspect",
  tags,
  summary: "RFC 7662: is this token active, and what is it?",
  description:
    "The caller authenticates with any keyward credential (password, API key, or the console's session). " +
    "A superuser may introspect any token, anyone else only their own; everything else is exactly {active: false}.",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, authenticate],
  request: { body: form },
  responses: {
    200: jsonResponse(Introspection, "The token's state"),
    400: oauthError("Bad request"),
    401: oauthError("No or bad caller credentials (invalid_client)"),
    413: oauthError("Body too large"),
    429: oauthError("Too many failed sign-ins"),
  },
});

export const revokeRoute = createRoute({
  method: "post",
  path: "/oauth/revoke",
  tags,
  summary: "RFC 7009: end a token; possession suffices",
  description:
    "Ends an API key, registry token, refresh token or session (and what it minted). 200 for unknown tokens too. " +
    "Access tokens (JWTs) cannot be revoked: registries verify them offline and they expire within minutes.",
  security: [...basicOrBearer, {}],
  middleware: [keyApiBodyLimit, authenticate],
  request: { body: form },
  responses: {
    200: { description: "Revoked, or never known" },
    400: oauthError("Bad request, or unsupported_token_type for an access token"),
    401: oauthError("Bad caller credentials, when some were sent"),
    413: oauthError("Body too large"),
  },
});
