import type { Env } from "./env";
import { PASSWORD_PARAMS, type PasswordParams } from "./crypto/password";
import { deriveKek } from "./crypto/envelope";
import { KEY_ALGORITHMS, type KeyAlgorithm } from "./crypto/keys";
import { importPepper, type Pepper } from "./crypto/secrets";
import { USERNAME_PATTERN } from "./services/users";

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
}

/** Raised when the deployment is missing or misusing a secret; rendered as 503. */
export class ConfigError extends Error {}

const DAY_MS = 86_400_000;
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

function environmentOf(env: Env): Config["environment"] {
  const value = env.KEYWARD_ENV ?? "production";
  if (value === "development" || value === "test") return value;
  return "production";
}

function secret(env: Env, name: SecretName, environment: Config["environment"]): string {
  const value = env[name];
  if (environment !== "production") return value || DEV_DEFAULTS[name];
  if (!value) throw new ConfigError(`${name} is not set: set it with \`wrangler secret put ${name}\``);
  if (value === DEV_DEFAULTS[name]) {
    throw new ConfigError(`${name} holds the development default, which production refuses`);
  }
  if ((name === "KEYWARD_PEPPER" || name === "KEYWARD_KEK") && value.length < 32) {
    throw new ConfigError(`${name} must be at least 32 characters`);
  }
  return value;
}

function signingAlgorithm(value: string | undefined): KeyAlgorithm {
  if (!value) return "ES256";
  if (!(KEY_ALGORITHMS as readonly string[]).includes(value)) {
    throw new ConfigError(`KEYWARD_SIGNING_ALG must be one of ${KEY_ALGORITHMS.join(", ")}`);
  }
  return value as KeyAlgorithm;
}

function adminUsername(name: string): string {
  if (!USERNAME_PATTERN.test(name)) throw new ConfigError("KEYWARD_ADMIN_USER is not a valid username");
  return name;
}

function positiveInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer`);
  return n;
}

async function buildConfig(env: Env): Promise<Config> {
  const environment = environmentOf(env);
  const pepperVersion = positiveInt(env.KEYWARD_PEPPER_VERSION, 1, "KEYWARD_PEPPER_VERSION");
  const current = await importPepper(pepperVersion, secret(env, "KEYWARD_PEPPER", environment));
  let previous: Pepper | null = null;
  if (env.KEYWARD_PEPPER_PREVIOUS) {
    // "<version>:<value>" — the pepper being rotated out; hashes made with it still verify.
    const match = /^(\d+):(.+)$/s.exec(env.KEYWARD_PEPPER_PREVIOUS);
    if (!match) throw new ConfigError("KEYWARD_PEPPER_PREVIOUS must look like <version>:<value>");
    const version = Number(match[1]);
    if (version === pepperVersion) {
      throw new ConfigError("KEYWARD_PEPPER_PREVIOUS must have another version than KEYWARD_PEPPER_VERSION");
    }
    previous = await importPepper(version, match[2]!);
  }
  return {
    environment,
    issuer: env.KEYWARD_ISSUER || "keyward",
    tokenTtlSeconds: positiveInt(env.KEYWARD_TOKEN_TTL_SECONDS, 300, "KEYWARD_TOKEN_TTL_SECONDS"),
    defaultService: env.KEYWARD_DEFAULT_SERVICE || "registry.local",
    apiKeyRetentionMs:
      positiveInt(env.KEYWARD_API_KEY_RETENTION_DAYS, 30, "KEYWARD_API_KEY_RETENTION_DAYS") * DAY_MS,
    auditRetentionMs:
      positiveInt(env.KEYWARD_AUDIT_RETENTION_DAYS, 365, "KEYWARD_AUDIT_RETENTION_DAYS") * DAY_MS,
    peppers: { current, previous },
    kek: await deriveKek(secret(env, "KEYWARD_KEK", environment)),
    audience: env.KEYWARD_AUDIENCE || env.KEYWARD_ISSUER || "keyward",
    signingAlgorithm: signingAlgorithm(env.KEYWARD_SIGNING_ALG),
    registryDomain: env.KEYWARD_REGISTRY_DOMAIN || "registry.local",
    // Only the test suite may lower the KDF cost (workerd under vitest runs scrypt ~10x slower
    // than a deployed Worker); every other environment uses OWASP's minimum or more.
    passwordParams: environment === "test" ? TEST_PASSWORD_PARAMS : PASSWORD_PARAMS,
    admin: {
      username: adminUsername(env.KEYWARD_ADMIN_USER || "admin"),
      password: secret(env, "KEYWARD_ADMIN_PASSWORD", environment),
    },
  };
}
