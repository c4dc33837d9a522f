import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

export const AUDIENCE = "keyward";

export interface ServiceKeyPair {
  privateKey: CryptoKey;
  jwk: JWK;
  kid: string;
  alg: "RS256" | "ES256";
}

export async function makeKeyPair(alg: "RS256" | "ES256" = "ES256"): Promise<ServiceKeyPair> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const full = await exportJWK(pair.publicKey);
  const jwk: JWK = alg === "RS256" ? { kty: "RSA", n: full.n, e: full.e } : { kty: "EC", crv: full.crv, x: full.x, y: full.y };
  return { privateKey: pair.privateKey, jwk, kid: await calculateJwkThumbprint(jwk, "sha256"), alg };
}

/** A keyserver JWT: iss = service, aud = keyward, signed by `signer`, kid in the header. */
export async function keyserverJwt(
  signer: ServiceKeyPair,
  service: string,
  overrides: {
    iss?: string;
    aud?: string;
    expSeconds?: number;
    kid?: string | null;
    noExp?: boolean;
    jti?: string | null;
    typ?: string;
  } = {},
): Promise<string> {
  const jwt = new SignJWT({})
    .setProtectedHeader({
      alg: signer.alg,
      typ: overrides.typ ?? "JWT",
      ...(overrides.kid === null ? {} : { kid: overrides.kid ?? signer.kid }),
    })
    .setIssuer(overrides.iss ?? service)
    .setAudience(overrides.aud ?? AUDIENCE)
    .setIssuedAt();
  // Keyserver JWTs are single-use: each carries a fresh jti unless a test says otherwise.
  if (overrides.jti !== null) jwt.setJti(overrides.jti ?? crypto.randomUUID());
  if (!overrides.noExp) jwt.setExpirationTime(Math.floor(Date.now() / 1000) + (overrides.expSeconds ?? 300));
  return jwt.sign(signer.privateKey);
}

const b64url = (text: string) => btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** An unsigned (`alg: none`) token carrying the given kid. */
export function unsignedJwt(kid: string, service: string): string {
  const header = b64url(JSON.stringify({ alg: "none", typ: "JWT", kid }));
  const payload = b64url(JSON.stringify({ iss: service, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 }));
  return `${header}.${payload}.`;
}

/** HS256 signed with the public JWK's JSON as the HMAC secret: the classic key-confusion forgery. */
export async function hmacConfusionJwt(target: ServiceKeyPair, service: string): Promise<string> {
  const secret = new TextEncoder().encode(JSON.stringify(target.jwk));
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", kid: target.kid })
    .setIssuer(service)
    .setAudience(AUDIENCE)
    .setExpirationTime("5m")
    .sign(secret);
}
