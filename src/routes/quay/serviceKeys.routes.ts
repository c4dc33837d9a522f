import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireSuperuser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { KEY_ALGORITHMS } from "../../crypto/keys";
import {
  basicOrBearer,
  holdsNoSecret,
  jsonBody,
  jsonResponse,
  keyApiBodyLimit,
  notFoundError,
  PrintableText,
  standardErrors,
} from "../common";

const tags = ["Service keys (Quay API v1)"];

export const ServiceName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be 1-63 of a-z, 0-9, '.', '_', '-'");
export const Kid = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)");
const UnixSeconds = z.number().int("must be whole unix seconds").min(0).max(253402300799, "must be before the year 10000");
const Metadata = z
  .record(z.string().max(128), z.unknown())
  .refine((m) => Object.keys(m).length <= 64, "at most 64 entries")
  .refine(holdsNoSecret, "must not contain a keyward secret");
const KeyName = PrintableText.pipe(z.string().max(255));

const KeyView = z
  .object({
    kid: z.string(),
    name: z.string().nullable(),
    service: z.string(),
    jwk: z.record(z.string(), z.unknown()),
    metadata: z.record(z.string(), z.unknown()),
    created_date: z.string().nullable(),
    expiration_date: z.string().nullable(),
    rotation_duration: z.number().nullable(),
    approval: z
      .object({
        approval_type: z.string().nullable(),
        approver: z.object({ name: z.string(), username: z.string(), kind: z.string() }).nullable(),
        approved_date: z.string().nullable(),
        notes: z.string(),
      })
      .nullable(),
  })
  .openapi("ServiceKey");

const KidParam = z.object({ kid: Kid.openapi({ param: { name: "kid", in: "path" } }) });
const superuserOnly = [authenticate, requireSuperuser];

export const listKeysRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/keys",
  tags,
  summary: "List all service keys",
  security: basicOrBearer,
  middleware: superuserOnly,
  responses: { 200: jsonResponse(z.object({ keys: z.array(KeyView) }), "Every service key"), ...standardErrors },
});

export const CreateKeyBody = z
  .object({
    service: ServiceName,
    expiration: UnixSeconds.nullable(),
    name: KeyName.nullish(),
    metadata: Metadata.optional(),
    notes: PrintableText.pipe(z.string().max(1024)).optional(),
    algorithm: z.enum(KEY_ALGORITHMS).default("RS256").openapi({ description: "keyward extension; Quay makes RS256" }),
  })
  .strict()
  .openapi("CreateServiceKey");

export const createKeyRoute = createRoute({
  method: "post",
  path: "/api/v1/superuser/keys",
  tags,
  summary: "Create (and approve) a service key; the private key is returned once and not stored",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: { body: jsonBody(CreateKeyBody) },
  responses: {
    200: jsonResponse(
      z.object({
        kid: z.string(),
        name: z.string().nullable(),
        service: z.string(),
        public_key: z.string(),
        private_key: z.string(),
      }),
      "The new key with its PEMs",
    ),
    ...standardErrors,
  },
});

export const getKeyRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/keys/{kid}",
  tags,
  summary: "Get a service key",
  security: basicOrBearer,
  middleware: superuserOnly,
  request: { params: KidParam },
  responses: { 200: jsonResponse(KeyView, "The key"), ...standardErrors, ...notFoundError },
});

export const UpdateKeyBody = z
  .object({
    name: KeyName.nullish(),
    metadata: Metadata.optional(),
    expiration: UnixSeconds.nullish(),
  })
  .strict()
  .openapi("UpdateServiceKey");

export const updateKeyRoute = createRoute({
  method: "put",
  path: "/api/v1/superuser/keys/{kid}",
  tags,
  summary: "Set name and expiration, merge metadata",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: { params: KidParam, body: jsonBody(UpdateKeyBody) },
  responses: { 200: jsonResponse(KeyView, "The updated key"), ...standardErrors, ...notFoundError },
});

export const deleteKeyRoute = createRoute({
  method: "delete",
  path: "/api/v1/superuser/keys/{kid}",
  tags,
  summary: "Delete a service key",
  security: basicOrBearer,
  middleware: superuserOnly,
  request: { params: KidParam },
  responses: { 204: { description: "Deleted" }, ...standardErrors, ...notFoundError },
});

export const approveKeyRoute = createRoute({
  method: "post",
  path: "/api/v1/superuser/approvedkeys/{kid}",
  tags,
  summary: "Approve a service key",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: {
    params: KidParam,
    body: { ...jsonBody(z.object({ notes: PrintableText.pipe(z.string().max(1024)).optional() }).strict()), required: false },
  },
  responses: { 201: { description: "Approved" }, ...standardErrors, ...notFoundError },
});
