import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireSuperuser, requireUser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { KEY_ALGORITHMS } from "../../crypto/keys";
import { basicOrBearer, jsonResponse, keyApiBodyLimit, notFoundError, standardErrors } from "../common";

const RefreshTokenView = z
  .object({
    id: z.uuid(),
    service: z.string(),
    clientId: z.string().nullable(),
    via: z.enum(["password", "api_key", "registry_token"]).openapi({ description: "The credential that minted it" }),
    parentId: z.string().nullable().openapi({ description: "The API key or registry token it dies with" }),
    createdAt: z.string(),
    expiresAt: z.string(),
    lastUsedAt: z.string().nullable(),
    lastUsedIp: z.string().nullable(),
  })
  .openapi("RefreshToken");

export const listRefreshTokensRoute = createRoute({
  method: "get",
  path: "/api/v1/user/refresh-tokens",
  tags: ["Refresh tokens"],
  summary: "The caller's refresh tokens (from /v2/auth offline access); never their secrets",
  security: basicOrBearer,
  middleware: [authenticate, requireUser],
  responses: { 200: jsonResponse(z.object({ refreshTokens: z.array(RefreshTokenView) }), "Refresh tokens"), ...standardErrors },
});

export const revokeRefreshTokenRoute = createRoute({
  method: "delete",
  path: "/api/v1/user/refresh-tokens/{id}",
  tags: ["Refresh tokens"],
  summary: "Revoke one of the caller's refresh tokens",
  security: basicOrBearer,
  middleware: [authenticate, requireUser],
  request: {
    params: z.object({
      id: z.uuid({ error: "must be a refresh token id (a UUID)" }).openapi({ param: { name: "id", in: "path" } }),
    }),
  },
  responses: { 204: { description: "Revoked" }, ...standardErrors, ...notFoundError },
});

const SigningKeyView = z
  .object({
    kid: z.string(),
    algorithm: z.enum(KEY_ALGORITHMS),
    state: z
      .enum(["active", "retiring"])
      .openapi({ description: "active signs new tokens; retiring is published until its tokens expire" }),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    certificate: z.string().nullable().openapi({ description: "Leaf certificate (DER, base64) signed by the token CA" }),
  })
  .openapi("SigningKey");

const superuserOnly = [authenticate, requireSuperuser];

export const listSigningKeysRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/signing-keys",
  tags: ["Signing keys"],
  summary: "keyward's own token-signing keys and their state",
  security: basicOrBearer,
  middleware: superuserOnly,
  responses: { 200: jsonResponse(z.object({ keys: z.array(SigningKeyView) }), "Signing keys"), ...standardErrors },
});

export const rotateSigningKeyRoute = createRoute({
  method: "post",
  path: "/api/v1/superuser/signing-keys/rotate",
  tags: ["Signing keys"],
  summary: "Rotate now: a new key signs every new token; older keys stay published until their tokens expire",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: {
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z
            .object({ algorithm: z.enum(KEY_ALGORITHMS).optional() })
            .strict()
            .openapi("RotateSigningKey"),
        },
      },
    },
  },
  responses: {
    200: jsonResponse(
      z.object({ kid: z.string(), algorithm: z.enum(KEY_ALGORITHMS), certificate: z.string() }),
      "The new signing key",
    ),
    ...standardErrors,
  },
});
