import { decodeProtectedHeader, errors, type JWK, type JWTPayload, jwtVerify } from "jose";
import { importPublicJwk, type KeyAlgorithm } from "./keys";

/** The longest-lived JWT the keyserver accepts: these prove possession, they are not sessions. */
export const MAX_JWT_LIFETIME_SECONDS = 3600;
export const CLOCK_TOLERANCE_SECONDS = 60;

export class JwtRejected extends Error {}

/** The `kid` in a compact JWS header, or null; throws JwtRejected when it is no JWS at all. */
export function signerKid(token: string): string | null {
  try {
    const header = decodeProtectedHeader(token);
    return typeof header.kid === "string" ? header.kid : null;
  } catch {
    throw new JwtRejected("Malformed JWT");
  }
}

/**
 * Strict verification: only the key's own algorithm (no `none`, no HMAC with a public key as
 * secret), `iss` = the service, `aud` = keyward's audience, `exp` required and near.
 */
export async function verifyServiceJwt(
  token: string,
  jwk: JWK,
  alg: KeyAlgorithm,
  expected: { issuer: string; audience: string },
): Promise<JWTPayload> {
  try {
    const key = await importPublicJwk(jwk, alg);
    const { payload } = await jwtVerify(token, key, {
      algorithms: [alg],
      issuer: expected.issuer,
      audience: expected.audience,
      requiredClaims: ["exp"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    if (payload.exp! - Math.floor(Date.now() / 1000) > MAX_JWT_LIFETIME_SECONDS) {
      throw new JwtRejected(`JWT lives longer than ${MAX_JWT_LIFETIME_SECONDS} seconds`);
    }
    return payload;
  } catch (err) {
    if (err instanceof JwtRejected) throw err;
    if (err instanceof errors.JOSEError) throw new JwtRejected(`Invalid JWT: ${err.code}`);
    throw new JwtRejected("Invalid JWT");
  }
}
