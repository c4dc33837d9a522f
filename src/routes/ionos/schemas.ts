import { z } from "@hono/zod-openapi";
import { RepositoryGlob } from "../../domain/repositories";

const UUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
export const RegistryIdParam = z.object({
  registryId: z
    .string()
    .regex(UUID, "must be a UUID")
    .openapi({ param: { name: "registryId", in: "path" } }),
});
export const TokenIdParams = RegistryIdParam.extend({
  tokenId: z
    .string()
    .regex(UUID, "must be a UUID")
    .openapi({ param: { name: "tokenId", in: "path" } }),
});
export const DeprecatedSecretParams = TokenIdParams.extend({
  secretId: z
    .string()
    .regex(UUID, "must be a UUID")
    .openapi({ param: { name: "secretId", in: "path" } }),
});

export const NAME_PATTERN = /^[a-z][-a-z0-9]{1,61}[a-z0-9]$/;
const Name = z.string().regex(NAME_PATTERN, "must match ^[a-z][-a-z0-9]{1,61}[a-z0-9]$");
/** A registry's hostname (its `service`): DNS labels, an optional port. */
export const HOSTNAME_PATTERN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;
const Hostname = z.string().max(253).regex(HOSTNAME_PATTERN, "must be a host name");
// The one repository grammar; `registry` scopes name the catalog (or `*`), which it also matches.
const ScopeName = RepositoryGlob;

export const TokenScope = z
  .object({
    type: z.enum(["repository", "registry"]),
    name: ScopeName,
    actions: z
      .array(z.enum(["pull", "push", "delete"]))
      .min(1)
      .max(3),
  })
  .strict()
  .openapi("TokenScope");

const ExpiryDate = z.iso.datetime({ offset: true, error: "must be an RFC 3339 date-time" }).nullable();
const Status = z.enum(["enabled", "disabled"]);

// IONOS clients send these registry properties; keyward keeps none of them but accepts them.
const ionosRegistryExtras = {
  location: z.string().max(64).optional(),
  garbageCollectionSchedule: z.record(z.string(), z.unknown()).optional(),
  features: z.record(z.string(), z.unknown()).optional(),
  apiSubnetAllowList: z.array(z.string()).optional(),
};

export const CreateRegistryBody = z
  .object({ properties: z.object({ name: Name, hostname: Hostname.optional(), ...ionosRegistryExtras }).strict() })
  .strict()
  .openapi("CreateRegistry");

export const PatchRegistryBody = z
  .object({ properties: z.object({ hostname: Hostname.optional(), ...ionosRegistryExtras }).strict() })
  .strict()
  .openapi("PatchRegistry");

export const TokenPropertiesInput = z
  .object({
    name: Name,
    expiryDate: ExpiryDate.optional(),
    scopes: z.array(TokenScope).max(100).optional(),
    status: Status.optional(),
  })
  .strict();

export const CreateTokenBody = z.object({ properties: TokenPropertiesInput }).strict().openapi("CreateToken");

export const PatchTokenBody = z
  .object({ expiryDate: ExpiryDate.optional(), scopes: z.array(TokenScope).max(100).optional(), status: Status.optional() })
  .strict()
  .openapi("PatchToken");

export const ListQuery = z
  .object({
    offset: z
      .string()
      .regex(/^\d{1,9}$/, "must be a non-negative integer")
      .default("0"),
    limit: z
      .string()
      .regex(/^\d{1,4}$/, "must be an integer from 0 to 1000")
      .refine((v) => Number(v) <= 1000, "must be at most 1000")
      .default("100"),
    after: Name.optional().openapi({ description: "keyward extension: keyset pagination after this token name" }),
  })
  .strict();

const Metadata = z.record(z.string(), z.unknown());

export const TokenView = z
  .object({
    id: z.string(),
    type: z.literal("token"),
    href: z.string(),
    metadata: Metadata,
    properties: z.object({
      name: z.string(),
      credentials: z.object({ username: z.string(), password: z.string() }),
      expiryDate: z.string().nullable(),
      scopes: z.array(TokenScope),
      status: Status,
    }),
  })
  .openapi("Token");

export const RegistryView = z
  .object({
    id: z.string(),
    type: z.literal("registry"),
    href: z.string(),
    metadata: Metadata,
    properties: z.object({ name: z.string(), hostname: z.string() }),
  })
  .openapi("Registry");

export const Collection = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      id: z.string(),
      type: z.literal("collection"),
      href: z.string(),
      items: z.array(item),
      offset: z.number().int(),
      limit: z.number().int(),
      count: z.number().int(),
      total: z.number().int(),
      _links: z.object({ previous: z.string().optional(), self: z.string(), next: z.string().optional() }),
    })
    .openapi(name);

export const IonosError = z
  .object({ httpStatus: z.number().int(), messages: z.array(z.object({ errorCode: z.string(), message: z.string() })) })
  .openapi("IonosError");
