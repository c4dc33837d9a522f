import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireUser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import {
  basicOrBearer,
  bodyIsJson,
  jsonBody,
  jsonResponse,
  keyApiBodyLimit,
  notFoundError,
  PrintableText,
  RepositoryGlob,
  standardErrors,
} from "../common";
import { DeprecatedSecretView } from "../user/apikeys.routes";

const tags = ["zot API keys"];

export const CreateApiKeyBody = z
  .object({
    label: PrintableText.pipe(z.string().trim().min(1).max(128)).openapi({ example: "git" }),
    scopes: z
      .array(RepositoryGlob)
      .max(100)
      .optional()
      .openapi({ example: ["repo1", "repo2"] }),
    expirationDate: z.iso
      .datetime({ offset: true, error: "must be an RFC 3339 date-time, e.g. 2030-01-02T15:04:05Z" })
      .nullish()
      .openapi({ example: "2030-01-01T00:00:00Z" }),
  })
  .strict()
  .openapi("CreateApiKey");

const ApiKeyDetails = z
  .object({
    uuid: z.uuid(),
    label: z.string(),
    scopes: z.array(z.string()),
    createdAt: z.string(),
    expirationDate: z.string().nullable().openapi({ description: "null: never expires" }),
    isExpired: z.boolean(),
    lastUsed: z.string().nullable(),
    lastUsedIp: z.string().nullable().openapi({ description: "keyward extension: the client address of the last use" }),
    creatorUa: z.string(),
    generatedBy: z.string(),
    kind: z.enum(["zot", "builtin", "extra"]).openapi({ description: "keyward extension" }),
    parentId: z
      .string()
      .nullable()
      .openapi({ description: "keyward extension: the key this one was made with; it dies with it" }),
    deprecatedSecrets: z
      .array(DeprecatedSecretView)
      .openapi({ description: "keyward extension: old secrets of a rotation, working until their sunset" }),
  })
  .openapi("ApiKeyDetails");

const CreatedApiKey = ApiKeyDetails.extend({
  apiKey: z.string().openapi({ description: "The secret. Shown only in this response." }),
}).openapi("CreatedApiKey");

const middleware = [authenticate, requireUser];

export const createApiKeyRoute = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create an API key for the caller",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, bodyIsJson, ...middleware, requireFreshLogin],
  request: { body: jsonBody(CreateApiKeyBody) },
  responses: { 201: jsonResponse(CreatedApiKey, "The new key, with its secret"), ...standardErrors },
});

export const listApiKeysRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "List the caller's API keys (never their secrets)",
  security: basicOrBearer,
  middleware,
  responses: {
    200: jsonResponse(z.object({ apiKeys: z.array(ApiKeyDetails) }), "The caller's keys"),
    ...standardErrors,
  },
});

export const revokeApiKeyRoute = createRoute({
  method: "delete",
  path: "/",
  tags,
  summary: "Revoke one of the caller's API keys",
  security: basicOrBearer,
  middleware,
  request: {
    query: z.object({
      id: z.uuid({ error: "id must be exactly one API key uuid" }),
    }),
  },
  responses: { 200: { description: "Revoked" }, ...standardErrors, ...notFoundError },
});
