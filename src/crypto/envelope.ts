import { fromBase64Url, toBase64Url } from "./encoding";

/*
 * Private keys at rest: AES-256-GCM under a key derived (HKDF-SHA-256) from the KEYWARD_KEK
 * secret. The additional data binds each ciphertext to its row (e.g. the kid), so a sealed
 * key copied onto another row does not open. Format: `v1.<iv>.<ciphertext+tag>` (base64url).
 */
const VERSION = "v1";

export async function deriveKek(secret: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new TextEncoder().encode("keyward/kek"),
      info: new TextEncoder().encode("private-keys/v1"),
    },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function seal(kek: CryptoKey, plaintext: Uint8Array, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    kek,
    plaintext,
  );
  return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ciphertext))}`;
}

/** Throws if the envelope was altered, sealed under another key, or for another context. */
export async function open(kek: CryptoKey, sealed: string, context: string): Promise<Uint8Array> {
  const [version, iv, ciphertext] = sealed.split(".");
  if (version !== VERSION || !iv || !ciphertext) throw new Error("not a keyward envelope");
  const plaintext = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: new TextEncoder().encode(context) },
    kek,
    fromBase64Url(ciphertext),
  );
  return new Uint8Array(plaintext);
}
