/*
 * keyward's secret format: `<prefix>_<body><check>` — body is 32 base62 characters from
 * crypto.getRandomValues (~190 bits), check is CRC-32 of `<prefix>_<body>` as 6 base62
 * characters. A mistyped or made-up secret fails the check before any database read, and
 * leaked secrets are easy to scan for: /\b(zak|krt|krf|kss)_[0-9A-Za-z]{38}\b/ (kss_: session
 * cookies, which never leave the browser's cookie jar).
 * Only HMAC-SHA-256(pepper, secret) is stored.
 */

export const SECRET_PREFIXES = ["zak", "krt", "krf", "kss"] as const;
export type SecretPrefix = (typeof SECRET_PREFIXES)[number];

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BODY_LENGTH = 32;
const CHECK_LENGTH = 6;
const SECRET_PATTERN = /^(zak|krt|krf|kss)_([0-9A-Za-z]{38})$/;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function checksum(prefixAndBody: string): string {
  let n = crc32(prefixAndBody);
  let out = "";
  for (let i = 0; i < CHECK_LENGTH; i++) {
    out = BASE62[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** Uniform base62 string (rejection sampling keeps every character equally likely). */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

/** What each prefix is, in the words scanners show. */
export const SECRET_NAMES: Record<SecretPrefix, string> = {
  zak: "keyward API key",
  krt: "keyward registry token password",
  krf: "keyward refresh token",
  kss: "keyward session cookie",
};

/** The regex scanners look for a secret of `prefix` with (published; .secretlintrc.json holds the same). */
export const scanPattern = (prefix: SecretPrefix) => `\\b${prefix}_[0-9A-Za-z]{${BODY_LENGTH + CHECK_LENGTH}}\\b`;

export function generateSecret(prefix: SecretPrefix): string {
  const head = `${prefix}_${randomBase62(BODY_LENGTH)}`;
  return head + checksum(head);
}

/** The secret's prefix if it is well-formed with a correct check, else null. No I/O. */
export function parseSecret(value: string): SecretPrefix | null {
  const match = SECRET_PATTERN.exec(value);
  if (!match) return null;
  const head = value.slice(0, value.length - CHECK_LENGTH);
  return checksum(head) === value.slice(-CHECK_LENGTH) ? (match[1] as SecretPrefix) : null;
}

export interface Pepper {
  version: number;
  key: CryptoKey;
}

export async function importPepper(version: number, value: string): Promise<Pepper> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(value), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return { version, key };
}

/** HMAC-SHA-256(pepper, secret), hex. */
export async function hashSecret(secret: string, pepper: Pepper): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", pepper.key, new TextEncoder().encode(secret));
  return toHex(new Uint8Array(mac));
}

/** Hashes under every configured pepper, current first, for a single `IN (…)` lookup. */
export async function secretHashes(secret: string, peppers: { current: Pepper; previous: Pepper | null }): Promise<string[]> {
  const list = [peppers.current, ...(peppers.previous ? [peppers.previous] : [])];
  return Promise.all(list.map((p) => hashSecret(secret, p)));
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Constant-time string comparison for secrets compared directly (CSRF tokens and the like). */
export function safeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.byteLength !== y.byteLength) return false;
  return crypto.subtle.timingSafeEqual(x, y);
}

/**
 * A keyward secret — or a long enough piece of one — anywhere in a text. No word boundary:
 * `xzak_…` holds one too. Free text that would carry one (a label, a description, a
 * User-Agent, an echoed request) is refused or redacted, so no secret lands in a list, an
 * audit entry or an error.
 */
const SECRET_IN_TEXT = /(zak|krt|krf|kss)_[0-9A-Za-z]{16,}/g;

export function containsSecret(text: string): boolean {
  SECRET_IN_TEXT.lastIndex = 0;
  return SECRET_IN_TEXT.test(text);
}

export function redactSecrets(text: string): string {
  return text.replace(SECRET_IN_TEXT, "$1_<redacted>");
}
