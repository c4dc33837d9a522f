import type { Config } from "./config";
import type { Db } from "./db/client";
import type { Principal } from "./domain/access";

/** Bindings: wrangler.toml [vars], Worker secrets, and D1. */
export interface Env {
  DB: D1Database;
  /** Workers Rate Limiting: public leak reports per client address (wrangler.toml [[ratelimits]]). */
  LEAK_REPORTS?: RateLimit;
  /** Workers Rate Limiting: uses of each API key and registry token (wrangler.toml [[ratelimits]]). */
  CREDENTIAL_RATE_LIMIT?: RateLimit;
  /** "production" (wrangler.toml), "development" (npm start), "test" (vitest). */
  KEYWARD_ENV?: string;
  KEYWARD_ISSUER?: string;
  KEYWARD_TOKEN_TTL_SECONDS?: string;
  KEYWARD_DEFAULT_SERVICE?: string;
  KEYWARD_API_KEY_RETENTION_DAYS?: string;
  KEYWARD_AUDIT_RETENTION_DAYS?: string;
  KEYWARD_SESSION_IDLE_SECONDS?: string;
  KEYWARD_SESSION_MAX_SECONDS?: string;
  KEYWARD_FRESH_LOGIN_SECONDS?: string;
  KEYWARD_AUDIENCE?: string;
  KEYWARD_SIGNING_ALG?: string;
  KEYWARD_REGISTRY_DOMAIN?: string;
  KEYWARD_VERIFY_CACHE_SECONDS?: string;
  KEYWARD_D1_READ_REPLICAS?: string;
  KEYWARD_PUBLIC_URL?: string;
  // Secrets
  KEYWARD_PEPPER?: string;
  KEYWARD_PEPPER_VERSION?: string;
  KEYWARD_PEPPER_PREVIOUS?: string;
  KEYWARD_KEK?: string;
  KEYWARD_ADMIN_USER?: string;
  KEYWARD_ADMIN_PASSWORD?: string;
}

export interface Variables {
  config: Config;
  /** The request's database: a D1 session on read replicas when KEYWARD_D1_READ_REPLICAS is on. */
  db: Db;
  /** With read replicas: the primary (re-checks of secrets a replica does not know yet). */
  primaryDb?: Db;
  requestId: string;
  principal: Principal | null;
  /** The console's per-response CSP nonce (hono/secure-headers). */
  secureHeadersNonce?: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
