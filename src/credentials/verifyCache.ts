/*
 * The opt-in bounded-staleness mode (KEYWARD_VERIFY_CACHE_SECONDS > 0): what the one D1 round
 * trip answered for a valid API key or registry token — its row, its owner's grants and the
 * public repositories — is reused by this isolate for at most that long. Expiry is still
 * judged on every use. Any state-changing request through this isolate empties the cache
 * (app.ts), so a revoke, disable, scope change or delete here is effective on the next
 * request; other isolates see it within the bound. 0 (the default) is strict: every request
 * reads D1.
 */

/** How many credentials an isolate keeps; the oldest is dropped first. */
export const VERIFY_CACHE_SIZE = 10_000;

interface Entry {
  value: unknown;
  until: number;
}

const entries = new Map<string, Entry>();
let generation = 0;

/** The cache's generation now: a read started under an older one is not stored. */
export const cacheGeneration = () => generation;

export function cached<T>(key: string, now = Date.now()): T | null {
  const entry = entries.get(key);
  if (!entry) return null;
  if (entry.until <= now) {
    entries.delete(key);
    return null;
  }
  return entry.value as T;
}

/**
 * Keeps `value` for `ttlMs` — unless the cache was emptied since `startedAt` (a revoke ran
 * while this read was in flight: what it read may already be gone).
 */
export function keep(key: string, value: unknown, ttlMs: number, startedAt: number, now = Date.now()): void {
  if (ttlMs <= 0 || startedAt !== generation) return;
  entries.delete(key);
  entries.set(key, { value, until: now + ttlMs });
  while (entries.size > VERIFY_CACHE_SIZE) entries.delete(entries.keys().next().value!);
}

/** Empties the cache: called after every state-changing request through this isolate. */
export function invalidateVerifyCache(): void {
  generation += 1;
  entries.clear();
}

/** For tests. */
export const verifyCacheSize = () => entries.size;
