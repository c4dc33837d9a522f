import { calculateJwkThumbprint, type JWK } from "jose";
import { toPem } from "./encoding";

/** The signature algorithms keyward makes keys for and accepts. */
export const KEY_ALGORITHMS = ["RS256", "ES256"] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

const GENERATE: Record<KeyAlgorithm, SubtleCryptoGenerateKeyAlgorithm> = {
  RS256: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
};

/** Web Crypto parameters to import/use a key of each algorithm. */
export const IMPORT: Record<KeyAlgorithm, SubtleCryptoImportKeyAlgorithm> = {
  RS256: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
  ES256: { name: "ECDSA", namedCurve: "P-256" },
};

export const SIGN: Record<KeyAlgorithm, SubtleCryptoSignAlgorithm> = {
  RS256: { name: "RSASSA-PKCS1-v1_5" },
  ES256: { name: "ECDSA", hash: "SHA-256" },
};

export async function generateKeyPair(alg: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(GENERATE[alg], true, ["sign", "verify"])) as CryptoKeyPair;
}

/** The public members only (RFC 7638's required members, plus kty), never `d` and friends. */
export function publicJwk(jwk: JWK): JWK {
  if (jwk.kty === "RSA") return { kty: "RSA", n: jwk.n, e: jwk.e };
  if (jwk.kty === "EC") return { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
  throw new Error(`unsupported key type ${jwk.kty}`);
}

export async function exportPublicJwk(key: CryptoKey): Promise<JWK> {
  return publicJwk((await crypto.subtle.exportKey("jwk", key)) as JWK);
}

/** RFC 7638 thumbprint (SHA-256, base64url) over the key's required members. */
export function thumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(publicJwk(jwk), "sha256");
}

export function algorithmOf(jwk: JWK): KeyAlgorithm {
  if (jwk.kty === "RSA") return "RS256";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  throw new Error("unsupported key");
}

export async function exportPems(pair: CryptoKeyPair): Promise<{ publicPem: string; privatePem: string; pkcs8: Uint8Array }> {
  const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  return { publicPem: toPem(spki, "PUBLIC KEY"), privatePem: toPem(pkcs8, "PRIVATE KEY"), pkcs8 };
}

export function importPrivateKey(pkcs8: Uint8Array, alg: KeyAlgorithm): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", pkcs8, IMPORT[alg], false, ["sign"]);
}

export function importPublicJwk(jwk: JWK, alg: KeyAlgorithm): Promise<CryptoKey> {
  return crypto.subtle.importKey("jwk", publicJwk(jwk) as JsonWebKey, IMPORT[alg], true, ["verify"]);
}
