import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import type { apiKeys, deprecatedSecrets, refreshTokens, registryTokens } from "../db/schema";

/** lastUsed is written at most once per credential per this interval (SPEC §4.1). */
export const LAST_USED_GRANULARITY_MS = 60_000;

/** The tables that hold a secret's hash; they share id, secret_hash, pepper_version, last_used_at, last_used_ip. */
export type SecretTable = typeof apiKeys | typeof registryTokens | typeof refreshTokens | typeof deprecatedSecrets;

export interface UsedCredential {
  id: string;
  lastUsedAt: Date | null;
  pepperVersion: number;
}

/**
 * Deferred bookkeeping after any secret was used, the same for every kind: lastUsed (with the
 * client's address) at most once a minute (the WHERE makes concurrent writers no-ops), and a re-hash under the current
 * pepper when it was found under the previous one. `hashes` as looked up: current first.
 * Returns null when there is nothing to write (the common case: no write on the hot path).
 */
export function recordUse(
  db: Db,
  table: SecretTable,
  used: UsedCredential,
  hashes: string[],
  config: Pick<Config, "peppers">,
  /** The client's address, recorded with the last use. */
  ip: string | null,
  now = new Date(),
) {
  const current = config.peppers.current.version;
  const rehash = used.pepperVersion === current ? null : { secretHash: hashes[0]!, pepperVersion: current };
  const stale = !used.lastUsedAt || now.getTime() - used.lastUsedAt.getTime() >= LAST_USED_GRANULARITY_MS;
  if (!stale && !rehash) return null;
  // The three tables share these columns; one of them stands for all in the types.
  const t = table as typeof apiKeys;
  const threshold = new Date(now.getTime() - LAST_USED_GRANULARITY_MS);
  return db
    .update(t)
    .set({ lastUsedAt: now, lastUsedIp: ip, ...(rehash ?? {}) })
    .where(and(eq(t.id, used.id), rehash ? undefined : or(isNull(t.lastUsedAt), lt(t.lastUsedAt, threshold))));
}
