import { createRoute } from "@hono/zod-openapi";
import { authenticate, requireUser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { basicOrBearer, jsonBody, jsonResponse, keyApiBodyLimit } from "../common";
import { RotateBody } from "../user/apikeys.routes";
import {
  Collection,
  CreateRegistryBody,
  CreateTokenBody,
  DeprecatedSecretParams,
  IonosError,
  ListQuery,
  PatchRegistryBody,
  PatchTokenBody,
  RegistryIdParam,
  RegistryView,
  TokenIdParams,
  TokenView,
} from "./schemas";

const err = (description: string) => jsonResponse(IonosError, description);
const errors = {
  400: err("Invalid input"),
  401: err("Missing or invalid credentials"),
  403: err("Not allowed"),
  404: err("Not found"),
  413: err("Body too large"),
};
const user = [authenticate, requireUser];
const writer = [keyApiBodyLimit, authenticate, requireUser];
const registryTags = ["Registries (IONOS)"];
const tokenTags = ["Registry tokens (IONOS)"];

export const listRegistriesRoute = createRoute({
  method: "get",
  path: "/registries",
  tags: registryTags,
  security: basicOrBearer,
  middleware: user,
  summary: "Registries the caller manages",
  responses: { 200: jsonResponse(Collection(RegistryView, "RegistryCollection"), "Registries"), ...errors },
});

export const createRegistryRoute = createRoute({
  method: "post",
  path: "/registries",
  tags: registryTags,
  security: basicOrBearer,
  middleware: [...writer, requireFreshLogin],
  summary: "Create a registry (superusers); hostname = the service its registry sends to /v2/auth",
  request: { body: jsonBody(CreateRegistryBody) },
  responses: { 201: jsonResponse(RegistryView, "Created"), ...errors, 409: err("Name or hostname taken") },
});

export const getRegistryRoute = createRoute({
  method: "get",
  path: "/registries/{registryId}",
  tags: registryTags,
  security: basicOrBearer,
  middleware: user,
  summary: "Get a registry",
  request: { params: RegistryIdParam },
  responses: { 200: jsonResponse(RegistryView, "The registry"), ...errors },
});

export const patchRegistryRoute = createRoute({
  method: "patch",
  path: "/registries/{registryId}",
  tags: registryTags,
  security: basicOrBearer,
  middleware: [...writer, requireFreshLogin],
  summary: "Change a registry's hostname",
  request: { params: RegistryIdParam, body: jsonBody(PatchRegistryBody) },
  responses: { 200: jsonResponse(RegistryView, "The registry"), ...errors, 409: err("Hostname taken") },
});

export const deleteRegistryRoute = createRoute({
  method: "delete",
  path: "/registries/{registryId}",
  tags: registryTags,
  security: basicOrBearer,
  middleware: user,
  summary: "Delete a registry and all its tokens",
  request: { params: RegistryIdParam },
  responses: { 204: { description: "Deleted" }, ...errors },
});

export const listTokensRoute = createRoute({
  method: "get",
  path: "/registries/{registryId}/tokens",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: user,
  summary: "List tokens, by name, offset/limit (or keyset `after`)",
  request: { params: RegistryIdParam, query: ListQuery },
  responses: { 200: jsonResponse(Collection(TokenView, "TokenCollection"), "One page of tokens"), ...errors },
});

export const createTokenRoute = createRoute({
  method: "post",
  path: "/registries/{registryId}/tokens",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: [...writer, requireFreshLogin],
  summary: "Create a token; the password is only in this response",
  request: { params: RegistryIdParam, body: jsonBody(CreateTokenBody) },
  responses: { 201: jsonResponse(TokenView, "Created (Location header)"), ...errors, 409: err("Name taken") },
});

export const getTokenRoute = createRoute({
  method: "get",
  path: "/registries/{registryId}/tokens/{tokenId}",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: user,
  summary: "Get a token (never its password)",
  request: { params: TokenIdParams },
  responses: { 200: jsonResponse(TokenView, "The token"), ...errors },
});

export const putTokenRoute = createRoute({
  method: "put",
  path: "/registries/{registryId}/tokens/{tokenId}",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: [...writer, requireFreshLogin],
  summary: "Create or replace a token (new password either way; the name cannot change)",
  request: { params: TokenIdParams, body: jsonBody(CreateTokenBody) },
  responses: {
    200: jsonResponse(TokenView, "Replaced"),
    201: jsonResponse(TokenView, "Created"),
    ...errors,
    409: err("Name taken"),
  },
});

export const patchTokenRoute = createRoute({
  method: "patch",
  path: "/registries/{registryId}/tokens/{tokenId}",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: writer,
  summary: "Change expiryDate, scopes or status",
  request: { params: TokenIdParams, body: jsonBody(PatchTokenBody) },
  responses: { 200: jsonResponse(TokenView, "The token"), ...errors },
});

export const deleteTokenRoute = createRoute({
  method: "delete",
  path: "/registries/{registryId}/tokens/{tokenId}",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: user,
  summary: "Delete a token",
  request: { params: TokenIdParams },
  responses: { 204: { description: "Deleted" }, ...errors },
});

export const rotateTokenRoute = createRoute({
  method: "post",
  path: "/registries/{registryId}/tokens/{tokenId}/rotate",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: [...writer, requireFreshLogin],
  summary:
    "keyward extension: a new password; the old one keeps working for the grace period (Deprecation and Sunset headers), then ends",
  request: { params: TokenIdParams, body: jsonBody(RotateBody) },
  responses: {
    201: jsonResponse(TokenView, "The token with its new password (only here); metadata.deprecatedSecrets lists the old one"),
    ...errors,
    409: err("Rotated by another request at the same time"),
  },
});

export const endDeprecatedRoute = createRoute({
  method: "delete",
  path: "/registries/{registryId}/tokens/{tokenId}/deprecated-secrets/{secretId}",
  tags: tokenTags,
  security: basicOrBearer,
  middleware: user,
  summary: "keyward extension: end a rotated token's old password before its sunset",
  request: { params: DeprecatedSecretParams },
  responses: { 204: { description: "Ended" }, ...errors },
});
