import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireUser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { FOREVER, MAX_LIFETIME_MINUTES } from "../../services/apiKeys";
import { MAX_GRACE_SECONDS } from "../../services/rotation";
import {
  basicOrBearer,
  conflictError,
  jsonBody,
  jsonResponse,
  keyApiBodyLimit,
  notFoundError,
  PrintableText,
  RepositoryGlob,
  standardErrors,
} from "../common";

const tags = ["API keys (all kinds)"];

export const DeprecatedSecretView = z
  .object({
    id: z.uuid(),
    deprecatedAt: z.string().openapi({ description: "When a rotation replaced it" }),
    sunsetAt: z.string().openapi({ description: "From then on it is refused (and the cron deletes it)" }),
    lastUsedAt: z.string().nullable(),
    lastUsedIp: z.string().nullable(),
  })
  .openapi("DeprecatedSecret");

export const RotateBody = z
  .object({
    gracePeriodSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_GRACE_SECONDS)
      .openapi({
        description: `How long the old secret keeps working: 0 (it ends now) to ${MAX_GRACE_SECONDS} (7 days)`,
        example: 3600,
      }),
  })
  .strict()
  .openapi("RotateCredential");

export const ApiKeyView = z
  .object({
    id: z.uuid(),
    kind: z.enum(["zot", "builtin", "extra"]).openapi({
      description: "zot: made through zot's API; builtin: the one per user (reset replaces it); extra: Kallithea's others",
    }),
    description: z.string(),
    label: z.string().openapi({ description: "The same as description (zot's name for it)" }),
    scopes: z.array(z.string()).nullable().openapi({ description: "Repository globs; null = the owner's full rights" }),
    createdAt: z.string(),
    expiresAt: z.string().nullable().openapi({ description: "null: never expires" }),
    expired: z.boolean().openapi({ description: "Expired keys stay listed until the retention sweep removes them" }),
    lastUsedAt: z.string().nullable().openapi({ description: "Recorded at most once a minute" }),
    lastUsedIp: z.string().nullable().openapi({ description: "The client address of that use" }),
    parentId: z.string().nullable().openapi({ description: "The key this one was made with; it dies with it" }),
    creatorUa: z.string().nullable(),
    deprecatedSecrets: z.array(DeprecatedSecretView).openapi({
      description: "Old secrets of a rotation that still work until their sunset, with their own last use",
    }),
  })
  .openapi("ApiKey");

const KeyId = z.object({
  id: z.uuid({ error: "must be an API key id (a UUID)" }).openapi({ param: { name: "id", in: "path" } }),
});

const WithSecret = ApiKeyView.extend({
  apiKey: z.string().openapi({ description: "The secret. Shown only in this response." }),
}).openapi("ApiKeyWithSecret");

export const CreateExtraKeyBody = z
  .object({
    description: PrintableText.pipe(z.string().trim().min(1).max(128)).openapi({ example: "CI mirror job" }),
    lifetime: z
      .number()
      .int()
      .refine(
        (n) => n === FOREVER || (n > 0 && n <= MAX_LIFETIME_MINUTES),
        `must be -1 (forever) or a number of minutes from 1 to ${MAX_LIFETIME_MINUTES}`,
      )
      .openapi({ description: "Minutes; -1 = forever (Kallithea offers -1, 5, 60, 1440, 43200)", example: 1440 }),
    scopes: z
      .array(RepositoryGlob)
      .max(100)
      .optional()
      .openapi({ description: "keyward extension: narrow the key to these repository globs", example: ["team/*"] }),
  })
  .strict()
  .openapi("CreateExtraApiKey");

const middleware = [authenticate, requireUser];

export const listRoute = createRoute({
  method: "get",
  path: "/api/v1/user/apikeys",
  tags,
  summary: "The caller's API keys of every kind (never their secrets)",
  security: basicOrBearer,
  middleware,
  responses: { 200: jsonResponse(z.object({ apiKeys: z.array(ApiKeyView) }), "The caller's keys"), ...standardErrors },
});

export const createExtraKeyRoute = createRoute({
  method: "post",
  path: "/api/v1/user/apikeys",
  tags,
  summary: "Create an extra API key with a description and a lifetime in minutes",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...middleware, requireFreshLogin],
  request: { body: jsonBody(CreateExtraKeyBody) },
  responses: { 201: jsonResponse(WithSecret, "The new key, with its secret"), ...standardErrors },
});

export const resetBuiltinRoute = createRoute({
  method: "post",
  path: "/api/v1/user/apikeys/builtin",
  tags,
  summary: "Reset (or first create) the caller's built-in key; the old one stops working at once",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...middleware, requireFreshLogin],
  responses: { 201: jsonResponse(WithSecret, "The new built-in key, with its secret"), ...standardErrors, ...conflictError },
});

export const revokeRoute = createRoute({
  method: "delete",
  path: "/api/v1/user/apikeys/{id}",
  tags,
  summary: "Revoke one of the caller's API keys (and the keys and refresh tokens made with it)",
  security: basicOrBearer,
  middleware,
  request: {
    params: z.object({
      id: z.uuid({ error: "must be an API key id (a UUID)" }).openapi({ param: { name: "id", in: "path" } }),
    }),
  },
  responses: { 204: { description: "Revoked" }, ...standardErrors, ...notFoundError },
});

export const rotateRoute = createRoute({
  method: "post",
  path: "/api/v1/user/apikeys/{id}/rotate",
  tags,
  summary: "Give a key a new secret; the old one keeps working for the grace period (Deprecation and Sunset headers), then ends",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...middleware, requireFreshLogin],
  request: { params: KeyId, body: jsonBody(RotateBody) },
  responses: {
    201: jsonResponse(WithSecret, "The key with its new secret (shown only here); deprecatedSecrets lists the old one"),
    ...standardErrors,
    ...notFoundError,
    ...conflictError,
  },
});

export const endDeprecatedRoute = createRoute({
  method: "delete",
  path: "/api/v1/user/apikeys/{id}/deprecated-secrets/{secretId}",
  tags,
  summary: "End a rotated key's old secret before its sunset (and the refresh tokens it minted)",
  security: basicOrBearer,
  middleware,
  request: {
    params: KeyId.extend({
      secretId: z
        .uuid({ error: "must be a deprecated secret's id (a UUID)" })
        .openapi({ param: { name: "secretId", in: "path" } }),
    }),
  },
  responses: { 204: { description: "Ended" }, ...standardErrors, ...notFoundError },
});
