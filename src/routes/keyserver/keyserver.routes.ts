import { createRoute, z } from "@hono/zod-openapi";
import { jsonBody, jsonResponse, keyApiBodyLimit, notFoundError, standardErrors } from "../common";
import { Kid, ServiceName } from "../quay/serviceKeys.routes";

const tags = ["Keyserver (Quay)"];
const B64URL = /^[A-Za-z0-9_-]+$/;
const optionalMembers = {
  kid: z.string().max(64).optional(),
  alg: z.string().max(16).optional(),
  use: z.literal("sig").optional(),
};

// Public members only: a JWK with private members (d, p, q, …) is refused as an unknown field.
export const PublicJwk = z
  .discriminatedUnion("kty", [
    z
      .object({
        kty: z.literal("RSA"),
        n: z.string().regex(B64URL).min(342, "RSA keys must have at least 2048 bits").max(2800),
        e: z.string().regex(B64URL).max(16),
        ...optionalMembers,
      })
      .strict(),
    z
      .object({
        kty: z.literal("EC"),
        crv: z.literal("P-256"),
        x: z.string().regex(B64URL).length(43),
        y: z.string().regex(B64URL).length(43),
        ...optionalMembers,
      })
      .strict(),
  ])
  .openapi("PublicJwk");

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).openapi("Jwks");
const ServiceParams = z.object({ service: ServiceName.openapi({ param: { name: "service", in: "path" } }) });
const KeyParams = ServiceParams.extend({ kid: Kid.openapi({ param: { name: "kid", in: "path" } }) });
const jwtAuth = [{ serviceJwt: [] }];

export const listServiceKeysRoute = createRoute({
  method: "get",
  path: "/keys/services/{service}/keys",
  tags,
  summary: "The service's JWKS: its approved, unexpired keys",
  request: { params: ServiceParams },
  responses: { 200: jsonResponse(Jwks, "JWKS"), 400: standardErrors[400] },
});

export const getServiceKeyRoute = createRoute({
  method: "get",
  path: "/keys/services/{service}/keys/{kid}",
  tags,
  summary: "One key: 404 unknown, 409 not approved, 403 expired",
  request: { params: KeyParams },
  responses: {
    200: jsonResponse(z.record(z.string(), z.unknown()), "The JWK"),
    400: standardErrors[400],
    403: standardErrors[403],
    ...notFoundError,
    409: { description: "Not approved yet" },
  },
});

const Bearer = z.object({
  authorization: z
    .string({ error: "Authorization: Bearer <JWT> is required" })
    .regex(/^Bearer [A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/, "must be Bearer <compact JWS>"),
});

export const putServiceKeyRoute = createRoute({
  method: "put",
  path: "/keys/services/{service}/keys/{kid}",
  tags,
  summary: "Register (self-signed JWT → 202, awaits approval) or rotate (JWT by an approved key → 200)",
  security: jwtAuth,
  middleware: [keyApiBodyLimit],
  request: {
    params: KeyParams,
    headers: Bearer,
    query: z
      .object({
        expiration: z
          .string()
          .regex(/^\d{1,12}(\.\d+)?$/, "must be unix seconds")
          .optional(),
        rotation: z
          .string()
          .regex(/^\d{1,10}$/, "must be whole seconds")
          .optional(),
      })
      .strict(),
    body: jsonBody(PublicJwk),
  },
  responses: {
    200: { description: "Rotated: the new key replaces the signer and inherits its approval" },
    202: { description: "Registered; awaits approval" },
    ...standardErrors,
    409: { description: "That kid exists already" },
  },
});

export const deleteServiceKeyRoute = createRoute({
  method: "delete",
  path: "/keys/services/{service}/keys/{kid}",
  tags,
  summary: "Delete with a JWT signed by the key itself or by another approved key of the service",
  security: jwtAuth,
  request: { params: KeyParams, headers: Bearer },
  responses: { 204: { description: "Deleted" }, ...standardErrors, ...notFoundError },
});

export const wellKnownJwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags,
  summary: "keyward's token-signing keys (same as /keys/services/keyward/keys)",
  responses: { 200: jsonResponse(Jwks, "JWKS") },
});
