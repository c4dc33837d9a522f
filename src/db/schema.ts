import { sql } from "drizzle-orm";
import { type AnySQLiteColumn, check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/*
 * The data model for the whole of SPEC, so later surfaces add behaviour, not breaking
 * migrations. Times are unix milliseconds. Secrets are never stored: only
 * HMAC-SHA-256(pepper, secret) in `secretHash`, with the pepper's version beside it.
 */

const createdAt = () => integer("created_at", { mode: "timestamp_ms" }).notNull();

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  username: text("username").notNull().unique(),
  email: text("email"),
  // Kallithea's name fields (its get_user/create_user carry them).
  firstname: text("firstname"),
  lastname: text("lastname"),
  // PHC-style string that records the KDF and its parameters (see crypto/password.ts).
  passwordHash: text("password_hash"),
  enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
  superuser: integer("superuser", { mode: "boolean" }).notNull().default(false),
  createdAt: createdAt(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }),
  lastLoginAt: integer("last_login_at", { mode: "timestamp_ms" }),
  // The client address of that sign-in (coalesced with lastLoginAt).
  lastLoginIp: text("last_login_ip"),
});

/** Personal API keys: zot keys, Kallithea's built-in key and its extra keys. */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    // "zot" (label + scopes), "builtin" (Kallithea's one per user), "extra" (Kallithea's others)
    kind: text("kind", { enum: ["zot", "builtin", "extra"] }).notNull(),
    // The key this one was created with, if any: a key made with a key dies with it.
    parentId: text("parent_id").references((): AnySQLiteColumn => apiKeys.id, { onDelete: "cascade" }),
    label: text("label").notNull(),
    secretHash: text("secret_hash").notNull(),
    pepperVersion: integer("pepper_version").notNull(),
    // JSON array of repository globs; null = the owner's full rights
    scopes: text("scopes", { mode: "json" }).$type<string[] | null>(),
    creatorUa: text("creator_ua"),
    generatedBy: text("generated_by").notNull().default("manual"),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    // The client address of that use (written with lastUsedAt, at most once a minute).
    lastUsedIp: text("last_used_ip"),
    // The last credential.expiring notice sent for the current expiresAt: 7 or 1 (days); null none.
    expiryNotice: integer("expiry_notice"),
  },
  (t) => [
    uniqueIndex("api_keys_secret_hash").on(t.secretHash),
    index("api_keys_user").on(t.userId, t.createdAt),
    index("api_keys_expires").on(t.expiresAt).where(sql`expires_at IS NOT NULL`),
    index("api_keys_parent").on(t.parentId).where(sql`parent_id IS NOT NULL`),
    // Kallithea's built-in key: at most one per user (reset replaces it).
    uniqueIndex("api_keys_builtin").on(t.userId).where(sql`kind = 'builtin'`),
  ],
);

/** Grants of read/write/admin on a repository name or glob. */
export const repositoryPermissions = sqliteTable(
  "repository_permissions",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    pattern: text("pattern").notNull(),
    role: text("role", { enum: ["read", "write", "admin"] }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.pattern] })],
);

/** Repositories (names or globs) anyone may pull. */
export const publicRepositories = sqliteTable("public_repositories", {
  pattern: text("pattern").primaryKey(),
  createdAt: createdAt(),
});

export const registries = sqliteTable("registries", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  // The `service` its registry server sends to /v2/auth (the JWT `aud`).
  hostname: text("hostname").notNull().unique(),
  ownerId: text("owner_id").references(() => users.id, { onDelete: "set null" }),
  createdAt: createdAt(),
  createdBy: text("created_by").notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }),
  updatedBy: text("updated_by"),
});

/** IONOS-style per-registry access tokens. */
export const registryTokens = sqliteTable(
  "registry_tokens",
  {
    id: text("id").primaryKey(),
    registryId: text("registry_id")
      .notNull()
      .references(() => registries.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    secretHash: text("secret_hash").notNull(),
    pepperVersion: integer("pepper_version").notNull(),
    scopes: text("scopes", { mode: "json" })
      .$type<{ type: "repository" | "registry"; name: string; actions: ("pull" | "push" | "delete")[] }[]>()
      .notNull(),
    status: text("status", { enum: ["enabled", "disabled"] }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    createdAt: createdAt(),
    createdBy: text("created_by").notNull(),
    createdByUserId: text("created_by_user_id").notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }),
    updatedBy: text("updated_by"),
    updatedByUserId: text("updated_by_user_id"),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    // The client address of that use (written with lastUsedAt, at most once a minute).
    lastUsedIp: text("last_used_ip"),
    // The last credential.expiring notice sent for the current expiresAt: 7 or 1 (days); null none.
    expiryNotice: integer("expiry_notice"),
  },
  (t) => [
    uniqueIndex("registry_tokens_secret_hash").on(t.secretHash),
    uniqueIndex("registry_tokens_registry_name").on(t.registryId, t.name),
    index("registry_tokens_expires").on(t.expiresAt).where(sql`expires_at IS NOT NULL`),
  ],
);

/** Quay-style service keys, including keyward's own token-signing keys (service "keyward"). */
export const serviceKeys = sqliteTable(
  "service_keys",
  {
    kid: text("kid").primaryKey(),
    service: text("service").notNull(),
    name: text("name"),
    alg: text("alg").notNull(),
    jwk: text("jwk", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }),
    rotationDurationSeconds: integer("rotation_duration_s"),
    approvalType: text("approval_type"),
    approver: text("approver"),
    approvedAt: integer("approved_at", { mode: "timestamp_ms" }),
    approvalNotes: text("approval_notes"),
    // Only for keyward's own keys: AES-GCM envelope of the PKCS#8 private key, and the leaf
    // certificate (DER, base64) signed by the token CA.
    privateKeyEnc: text("private_key_enc"),
    certificate: text("certificate"),
    flaggedAt: integer("flagged_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    index("service_keys_service").on(t.service, t.createdAt),
    index("service_keys_expires").on(t.expiresAt).where(sql`expires_at IS NOT NULL`),
    index("service_keys_unapproved").on(t.createdAt).where(sql`approved_at IS NULL`),
    index("service_keys_rotation_pending").on(t.createdAt).where(sql`rotation_duration_s IS NOT NULL AND flagged_at IS NULL`),
  ],
);

/** keyward's long-lived token CA that certifies each signing key. */
export const tokenAuthorities = sqliteTable("token_authorities", {
  id: text("id").primaryKey(),
  certificatePem: text("certificate_pem").notNull(),
  privateKeyEnc: text("private_key_enc").notNull(),
  createdAt: createdAt(),
  expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
});

/**
 * Browser sessions (Quay API v1 and the console): the cookie carries a `kss_` secret, the row
 * its keyed hash. `expiresAt` is the earlier of the absolute expiry and the idle expiry (last
 * use + idle window), so one indexed column answers both checks and the sweep.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    secretHash: text("secret_hash").notNull(),
    pepperVersion: integer("pepper_version").notNull(),
    createdAt: createdAt(),
    // The last password sign-in or verify (Quay's fresh login).
    signedInAt: integer("signed_in_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    // The client address of that use (written with lastUsedAt, at most once a minute).
    lastUsedIp: text("last_used_ip"),
    absoluteExpiresAt: integer("absolute_expires_at", { mode: "timestamp_ms" }).notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [
    uniqueIndex("sessions_secret_hash").on(t.secretHash),
    index("sessions_user").on(t.userId),
    index("sessions_expires").on(t.expiresAt),
  ],
);

/**
 * The old secret of a rotated API key or registry token: it authenticates as its credential
 * until `sunsetAt` (each response says so with Deprecation and Sunset headers), then it is
 * refused and the cron deletes it. Dies with its credential (FK cascade); exactly one of the
 * two credential columns is set.
 */
export const deprecatedSecrets = sqliteTable(
  "deprecated_secrets",
  {
    id: text("id").primaryKey(),
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "cascade" }),
    registryTokenId: text("registry_token_id").references(() => registryTokens.id, { onDelete: "cascade" }),
    secretHash: text("secret_hash").notNull(),
    pepperVersion: integer("pepper_version").notNull(),
    // When the rotation made it deprecated (the Deprecation header's date).
    createdAt: createdAt(),
    sunsetAt: integer("sunset_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    lastUsedIp: text("last_used_ip"),
  },
  (t) => [
    uniqueIndex("deprecated_secrets_secret_hash").on(t.secretHash),
    index("deprecated_secrets_api_key").on(t.apiKeyId).where(sql`api_key_id IS NOT NULL`),
    index("deprecated_secrets_registry_token").on(t.registryTokenId).where(sql`registry_token_id IS NOT NULL`),
    index("deprecated_secrets_sunset").on(t.sunsetAt),
    check("deprecated_secrets_one_credential", sql`(api_key_id IS NULL) <> (registry_token_id IS NULL)`),
  ],
);

/**
 * `krf_` refresh tokens from /v2/auth, bound to a service and to the credential that minted
 * them (`via`): a password-minted one ends on a password change, a key- or token-minted one
 * is deleted with its parent (FK cascade) and checked against it (expiry, status, scopes) on
 * every use. `userId` is whose rights it carries (a registry token's creator).
 */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    via: text("via", { enum: ["password", "api_key", "registry_token"] })
      .notNull()
      .default("password"),
    apiKeyId: text("api_key_id").references(() => apiKeys.id, { onDelete: "cascade" }),
    registryTokenId: text("registry_token_id").references(() => registryTokens.id, { onDelete: "cascade" }),
    // Minted by a secret that a rotation has since deprecated: it ends with that secret.
    deprecatedSecretId: text("deprecated_secret_id").references(() => deprecatedSecrets.id, { onDelete: "cascade" }),
    service: text("service").notNull(),
    clientId: text("client_id"),
    secretHash: text("secret_hash").notNull(),
    pepperVersion: integer("pepper_version").notNull(),
    createdAt: createdAt(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    lastUsedAt: integer("last_used_at", { mode: "timestamp_ms" }),
    // The client address of that use (written with lastUsedAt, at most once a minute).
    lastUsedIp: text("last_used_ip"),
  },
  (t) => [
    uniqueIndex("refresh_tokens_secret_hash").on(t.secretHash),
    index("refresh_tokens_user").on(t.userId),
    index("refresh_tokens_expires").on(t.expiresAt),
    index("refresh_tokens_api_key").on(t.apiKeyId).where(sql`api_key_id IS NOT NULL`),
    index("refresh_tokens_registry_token").on(t.registryTokenId).where(sql`registry_token_id IS NOT NULL`),
    index("refresh_tokens_deprecated_secret").on(t.deprecatedSecretId).where(sql`deprecated_secret_id IS NOT NULL`),
  ],
);

/** `jti`s of accepted keyserver JWTs, remembered until their `exp`: each JWT is single-use. */
export const keyserverJtis = sqliteTable(
  "keyserver_jtis",
  {
    // "<service>:<jti>": a jti is unique per issuing service.
    id: text("id").primaryKey(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
  },
  (t) => [index("keyserver_jtis_expires").on(t.expiresAt)],
);

/** Append-only record of who did what; never holds a secret. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    at: integer("at", { mode: "timestamp_ms" }).notNull(),
    kind: text("kind").notNull(),
    actorId: text("actor_id"),
    actorName: text("actor_name"),
    // The user whose credential or account the entry concerns (for per-user reading).
    subjectUserId: text("subject_user_id"),
    targetType: text("target_type"),
    targetId: text("target_id"),
    ip: text("ip"),
    requestId: text("request_id"),
    metadata: text("metadata", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [
    index("audit_log_at").on(t.at),
    index("audit_log_subject").on(t.subjectUserId, t.id),
    // The console's audit page filters by kind, newest first (keyset on id).
    index("audit_log_kind").on(t.kind, t.id),
  ],
);

/** Failed-authentication counters per (username, client), username and client address (see services/authFailures.ts). */
export const authFailures = sqliteTable(
  "auth_failures",
  {
    key: text("key").primaryKey(),
    windowStart: integer("window_start", { mode: "timestamp_ms" }).notNull(),
    count: integer("count").notNull(),
  },
  (t) => [index("auth_failures_window").on(t.windowStart)],
);

/** Webhook endpoints (superusers manage them); the signing secret is sealed under the KEK. */
export const webhookEndpoints = sqliteTable("webhook_endpoints", {
  id: text("id").primaryKey(),
  url: text("url").notNull(),
  // JSON array of event types it receives.
  events: text("events", { mode: "json" }).$type<string[]>().notNull(),
  description: text("description"),
  // AES-GCM envelope (crypto/envelope.ts, context "webhook:<id>") of the signing secret.
  secretEnc: text("secret_enc").notNull(),
  createdAt: createdAt(),
  createdBy: text("created_by").notNull(),
});

/**
 * The outbox: one row per event, written in the same db.batch as the change that caused it
 * (webhooks/outbox.ts), and only when some endpoint receives its type. Never holds a secret.
 */
export const webhookEvents = sqliteTable(
  "webhook_events",
  {
    id: text("id").primaryKey(),
    type: text("type").notNull(),
    createdAt: createdAt(),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index("webhook_events_created").on(t.createdAt)],
);

/** One event to one endpoint: written with the event, delivered (and retried) by the cron. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id")
      .notNull()
      .references(() => webhookEvents.id, { onDelete: "cascade" }),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    status: text("status", { enum: ["pending", "delivered", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at", { mode: "timestamp_ms" }).notNull(),
    lastAttemptAt: integer("last_attempt_at", { mode: "timestamp_ms" }),
    // The receiver's last HTTP status, or null (no answer); `error` says why it failed.
    responseStatus: integer("response_status"),
    error: text("error"),
    createdAt: createdAt(),
    deliveredAt: integer("delivered_at", { mode: "timestamp_ms" }),
  },
  (t) => [
    index("webhook_deliveries_due").on(t.nextAttemptAt).where(sql`status = 'pending'`),
    index("webhook_deliveries_endpoint").on(t.endpointId, t.createdAt),
    index("webhook_deliveries_event").on(t.eventId),
  ],
);

/** keyward-wide settings a superuser changes at run time (e.g. "lifetime_policy"), as JSON. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
  updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
  updatedBy: text("updated_by").notNull(),
});

export type User = typeof users.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;
export type ServiceKey = typeof serviceKeys.$inferSelect;
export type Registry = typeof registries.$inferSelect;
export type RegistryToken = typeof registryTokens.$inferSelect;
export type TokenAuthority = typeof tokenAuthorities.$inferSelect;
export type RefreshToken = typeof refreshTokens.$inferSelect;
export type Session = typeof sessions.$inferSelect;
export type DeprecatedSecret = typeof deprecatedSecrets.$inferSelect;
export type WebhookEndpoint = typeof webhookEndpoints.$inferSelect;
export type WebhookDelivery = typeof webhookDeliveries.$inferSelect;
