import { hashSecret, type Pepper, toHex } from "../crypto/secrets";

/*
 * Docker clients send the password with every token request, and each check is a 16 MiB
 * scrypt. This isolate remembers, for a few minutes, that a (username, password) pair matched
 * a stored hash: keyed by HMAC(pepper, username, password) — never the password — and holding
 * only a fingerprint of the stored hash. A hit still reads the user row in the request's one
 * D1 round trip and must match that fingerprint, so a changed password, a disabled or deleted
 * user is refused on the next request. Failures are never remembered.
 */

/** How long a verified password is remembered (the bound: at most 5 minutes). */
export const PASSWORD_MEMO_MS = 5 * 60_000;
/** How many pairs an isolate remembers; the oldest is forgotten first. */
export const PASSWORD_MEMO_SIZE = 1024;

interface Entry {
  fingerprint: string;
  until: number;
}

const memo = new Map<string, Entry>();

/** The memo's key for a pair: a keyed hash of both (the NUL cannot be in a username). */
export function memoKey(username: string, password: string, pepper: Pepper): Promise<string> {
  return hashSecret(`password-memo\u0000${username}\u0000${password}`, pepper);
}

/** A fingerprint of a stored password hash: what a memo entry is checked against. */
export async function hashFingerprint(passwordHash: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(passwordHash));
  return toHex(new Uint8Array(digest));
}

/** The fingerprint remembered for `key`, if it is still fresh. */
export function recall(key: string, now = Date.now()): string | null {
  const entry = memo.get(key);
  if (!entry) return null;
  if (entry.until <= now) {
    memo.delete(key);
    return null;
  }
  return entry.fingerprint;
}

export function remember(key: string, fingerprint: string, now = Date.now()): void {
  memo.delete(key);
  memo.set(key, { fingerprint, until: now + PASSWORD_MEMO_MS });
  while (memo.size > PASSWORD_MEMO_SIZE) memo.delete(memo.keys().next().value!);
}

export function forget(key: string): void {
  memo.delete(key);
}

/** For tests: how many pairs are remembered. */
export const memoSize = () => memo.size;
