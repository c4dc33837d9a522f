import { z } from "zod";
import { deriveKek } from "./crypto/envelope";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "./crypto/keys";
import { PASSWORD_PARAMS, type PasswordParams } from "./crypto/password";
import { importPepper, type Pepper } from "./crypto/secrets";
import { USERNAME_PATTERN } from "./domain/names";
import type { Env } from "./env";

/**
 * Dev-only defaults so a fresh clone runs with `npm start` and no secret step.
 * They are refused outside development and test: production must set real secrets.
 */
export const DEV_DEFAULTS = {
  KEYWARD_PEPPER: "dev-only-pepper-NOT-FOR-PRODUCTION-0123456789abcdef",
  KEYWARD_KEK: "dev-only-kek-NOT-FOR-PRODUCTION-0123456789abcdef",
  KEYWARD_ADMIN_PASSWORD: "keyward-dev-password",
} as const;

const TEST_PASSWORD_PARAMS: PasswordParams = { ln: 10, r: 8, p: 1 };

type SecretName = keyof typeof DEV_DEFAULTS;

export interface Config {
  environment: "production" | "development" | "test";
  issuer: string;
  tokenTtlSeconds: number;
  defaultService: string;
  apiKeyRetentionMs: number;
  auditRetentionMs: number;
  /** Browser sessions: idle and absolute lifetime, and the fresh-login window. */
  sessions: { idleMs: number; maxMs: number; freshLoginMs: number };
  peppers: { current: Pepper; previous: Pepper | null };
  /** AES-GCM key for private keys at rest, derived from KEYWARD_KEK. */
  kek: CryptoKey;
  /** `aud` that JWTs sent to the keyserver must carry (Quay: the server hostname). */
  audience: string;
  /** Registries created without a hostname get `<name>.<registryDomain>`. */
  registryDomain: string;
  /** Algorithm of keyward's own token-signing keys. */
  signingAlgorithm: KeyAlgorithm;
  passwordParams: PasswordParams;
  admin: { username: string; password: string };
  /** Opt-in bounded staleness: how long a verified API key or registry token may be reused (0 = strict). */
  verifyCacheMs: number;
  /** Verification reads from D1 read replicas (Sessions API); management follows x-d1-bookmark. */
  d1ReadReplicas: boolean;
  /** keyward's public origin for URLs it publishes (null: the request's own origin). */
  publicUrl: string | null;
}

/** Raised when the deployment is missing or misusing a secret; rendered as 503. */
export class ConfigError extends Error {}

const DAY_MS = 86_400_000;

// Every message below completes a sentence that starts with the setting's name.

/** Unset and "" both mean "use the default" (an emptied var or secret arrives as ""). */
function unsetOr<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === "" ? undefined : value), schema.optional());
}

function withDefault<T extends z.ZodType>(schema: T, fallback: z.output<T>) {
  return unsetOr(schema).transform((value) => value ?? fallback);
}

const MUST_BE_POSITIVE = "must be a positive integer";
const MUST_BE_SECONDS = "must be a whole number of seconds";
const positiveInt = (fallback: number) =>
  withDefault(z.coerce.number({ error: MUST_BE_POSITIVE }).int(MUST_BE_POSITIVE).positive(MUST_BE_POSITIVE), fallback);

/** "<version>:<value>": the pepper being rotated out; hashes made with it still verify. */
const PreviousPepper = z
  .string()
  .regex(/^\d+:.+$/s, "must look like <version>:<value>")
  .transform((raw) => {
    const colon = raw.indexOf(":");
    return { version: Number(raw.slice(0, colon)), value: raw.slice(colon + 1) };
  });

/** Why production refuses a secret, or null. Never quotes the value. */
function productionRefusal(name: SecretName, value: string | undefined): string | null {
  if (value === undefined) return `is not set: set it with \`wrangler secret put ${name}\``;
  if (value === DEV_DEFAULTS[name]) return "holds the development default, which production refuses";
  if ((name === "KEYWARD_PEPPER" || name === "KEYWARD_KEK") && value.length < 32) {
    return "must be at least 32 characters";
  }
  return null;
}

/** Every setting keyward reads from wrangler.toml [vars] and Worker secrets, in one schema. */
const EnvSchema = z
  .object({
    // Anything but "development" or "test" (unset included) is production.
    KEYWARD_ENV: z.enum(["production", "development", "test"]).catch("production"),
    KEYWARD_ISSUER: withDefault(z.string(), "keyward"),
    KEYWARD_TOKEN_TTL_SECONDS: positiveInt(300),
    KEYWARD_DEFAULT_SERVICE: withDefault(z.string(), "registry.local"),
    KEYWARD_API_KEY_RETENTION_DAYS: positiveInt(30),
    KEYWARD_AUDIT_RETENTION_DAYS: positiveInt(365),
    KEYWARD_SESSION_IDLE_SECONDS: positiveInt(12 * 3600),
    KEYWARD_SESSION_MAX_SECONDS: positiveInt(7 * 86_400),
    KEYWARD_FRESH_LOGIN_SECONDS: positiveInt(600),
    KEYWARD_AUDIENCE: unsetOr(z.string()),
    KEYWARD_SIGNING_ALG: withDefault(z.enum(KEY_ALGORITHMS, { error: `must be one of ${KEY_ALGORITHMS.join(", ")}` }), "ES256"),
    KEYWARD_REGISTRY_DOMAIN: withDefault(z.string(), "registry.local"),
    KEYWARD_PEPPER: unsetOr(z.string()),
    KEYWARD_PEPPER_VERSION: positiveInt(1),
    KEYWARD_PEPPER_PREVIOUS: unsetOr(PreviousPepper),
    KEYWARD_KEK: unsetOr(z.string()),
    KEYWARD_ADMIN_USER: withDefault(z.string().regex(USERNAME_PATTERN, "is not a valid username"), "admin"),
    KEYWARD_ADMIN_PASSWORD: unsetOr(z.string()),
    KEYWARD_VERIFY_CACHE_SECONDS: withDefault(
      z.coerce.number({ error: MUST_BE_SECONDS }).int(MUST_BE_SECONDS).min(0, MUST_BE_SECONDS).max(300, "must be at most 300"),
      0,
    ),
    KEYWARD_PUBLIC_URL: unsetOr(
      z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).transform((u) => new URL(u).origin),
    ),
    KEYWARD_D1_READ_REPLICAS: withDefault(
      z.enum(["true", "false"], { error: 'must be "true" or "false"' }).transform((v) => v === "true"),
      false,
    ),
  })
  .transform((vars, ctx) => {
    const environment = vars.KEYWARD_ENV;
    // Outside production a missing secret takes its dev default; production refuses both.
    const secret = (name: SecretName): string => {
      const value = vars[name];
      if (environment !== "production") return value ?? DEV_DEFAULTS[name];
      const refusal = productionRefusal(name, value);
      if (refusal) ctx.addIssue({ code: "custom", path: [name], message: refusal });
      return value ?? "";
    };
    const previous = vars.KEYWARD_PEPPER_PREVIOUS ?? null;
    if (previous && previous.version === vars.KEYWARD_PEPPER_VERSION) {
      ctx.addIssue({
        code: "custom",
        path: ["KEYWARD_PEPPER_PREVIOUS"],
        message: "must have another version than KEYWARD_PEPPER_VERSION",
      });
    }
    return {
      environment,
      issuer: vars.KEYWARD_ISSUER,
      tokenTtlSeconds: vars.KEYWARD_TOKEN_TTL_SECONDS,
      defaultService: vars.KEYWARD_DEFAULT_SERVICE,
      apiKeyRetentionMs: vars.KEYWARD_API_KEY_RETENTION_DAYS * DAY_MS,
      auditRetentionMs: vars.KEYWARD_AUDIT_RETENTION_DAYS * DAY_MS,
      sessions: {
        idleMs: vars.KEYWARD_SESSION_IDLE_SECONDS * 1000,
        maxMs: vars.KEYWARD_SESSION_MAX_SECONDS * 1000,
        freshLoginMs: vars.KEYWARD_FRESH_LOGIN_SECONDS * 1000,
      },
      audience: vars.KEYWARD_AUDIENCE ?? vars.KEYWARD_ISSUER,
      signingAlgorithm: vars.KEYWARD_SIGNING_ALG,
      registryDomain: vars.KEYWARD_REGISTRY_DOMAIN,
      // Only the test suite may lower the KDF cost (workerd under vitest runs scrypt ~10x slower
      // than a deployed Worker); every other environment uses OWASP's minimum or more.
      passwordParams: environment === "test" ? TEST_PASSWORD_PARAMS : PASSWORD_PARAMS,
      admin: { username: vars.KEYWARD_ADMIN_USER, password: secret("KEYWARD_ADMIN_PASSWORD") },
      verifyCacheMs: vars.KEYWARD_VERIFY_CACHE_SECONDS * 1000,
      d1ReadReplicas: vars.KEYWARD_D1_READ_REPLICAS,
      publicUrl: vars.KEYWARD_PUBLIC_URL ?? null,
      // Raw key material; buildConfig imports it.
      pepper: { version: vars.KEYWARD_PEPPER_VERSION, value: secret("KEYWARD_PEPPER") },
      previousPepper: previous,
      kek: secret("KEYWARD_KEK"),
    };
  });

/** One sentence per bad setting, each naming it (never its value). */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; ");
}

const cache = new WeakMap<Env, Promise<Config>>();

/** Parses and checks the configuration once per isolate (the HMAC key import is not free). */
export function loadConfig(env: Env): Promise<Config> {
  let config = cache.get(env);
  if (!config) {
    config = buildConfig(env);
    cache.set(env, config);
    // A failed load (e.g. a missing secret) must not stick once the secret is set.
    config.catch(() => cache.delete(env));
  }
  return config;
}

async function buildConfig(env: Env): Promise<Config> {
  // A setting of the wrong type (e.g. a number in [vars] where text belongs) reads as one.
  const parsed = EnvSchema.safeParse(env, {
    error: (issue) => (issue.code === "invalid_type" ? `must be a ${issue.expected}` : undefined),
  });
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.error));
  const { pepper, previousPepper, kek, ...settings } = parsed.data;
  return {
    ...settings,
    peppers: {
      current: await importPepper(pepper.version, pepper.value),
      previous: previousPepper && (await importPepper(previousPepper.version, previousPepper.value)),
    },
    kek: await deriveKek(kek),
  };
}
