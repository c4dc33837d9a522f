import { scrypt } from "@noble/hashes/scrypt.js";
import { safeEqual } from "./secrets";

/*
 * Passwords: scrypt at OWASP's minimum (N=2^14, r=8, p=5: 16 MiB, one of OWASP's equivalent
 * settings, chosen to fit workerd's 128 MB isolate). workerd caps PBKDF2 at 100k iterations,
 * below OWASP, hence @noble/hashes. Each hash records its parameters so they can be raised
 * later: `$scrypt$ln=14,r=8,p=5$<salt b64>$<hash b64>`; a weaker hash is replaced at the next
 * successful sign-in.
 */
export interface PasswordParams {
  ln: number;
  r: number;
  p: number;
}

export const PASSWORD_PARAMS: PasswordParams = { ln: 14, r: 8, p: 5 };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a string can be a password at all. scrypt's HMAC pads its key with zero bytes, so
 * `pw` and `pw\0` would hash alike, and UTF-8 turns every lone surrogate into U+FFFD: a NUL or
 * a lone surrogate would make two different passwords one (adversarial finding, issue 11).
 * Refused when a password is set, and at sign-in before any KDF work.
 */
export function isPasswordText(password: string): boolean {
  return !password.includes("\u0000") && !LONE_SURROGATE.test(password);
}

export const PASSWORD_TEXT_MESSAGE = "must not contain NUL characters or unpaired surrogates";
const KEY_LENGTH = 32;
const BURN_SALT = new Uint8Array(16);

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const unb64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

function derive(password: string, salt: Uint8Array, params: PasswordParams) {
  return scrypt(new TextEncoder().encode(password), salt, {
    N: 2 ** params.ln,
    r: params.r,
    p: params.p,
    dkLen: KEY_LENGTH,
    maxmem: 2 ** 26,
  });
}

export function hashPassword(password: string, params: PasswordParams = PASSWORD_PARAMS): string {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const { ln, r, p } = params;
  return `$scrypt$ln=${ln},r=${r},p=${p}$${b64(salt)}$${b64(derive(password, salt, params))}`;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

function parse(stored: string): (PasswordParams & { salt: string; hash: string }) | null {
  const m = PHC.exec(stored);
  if (!m) return null;
  return { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]), salt: m[4]!, hash: m[5]! };
}

export function verifyPassword(password: string, stored: string): boolean {
  const parsed = parse(stored);
  if (!parsed) return false;
  return safeEqual(b64(derive(password, unb64(parsed.salt), parsed)), parsed.hash);
}

/** True when the stored hash uses weaker parameters than `params` (rehash on sign-in). */
export function needsRehash(stored: string, params: PasswordParams = PASSWORD_PARAMS): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.ln < params.ln || parsed.r < params.r || parsed.p < params.p;
}

/** Spends what a verification costs, for unknown usernames, so a miss is not faster. */
export function burnPasswordCheck(password: string, params: PasswordParams = PASSWORD_PARAMS): void {
  derive(password, BURN_SALT, params);
}
