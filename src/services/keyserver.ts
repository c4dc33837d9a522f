import { decodeProtectedHeader, type JWK } from "jose";
import type { Config } from "../config";
import { JwtRejected, signerKid, verifyServiceJwt } from "../crypto/jwt";
import { algorithmOf, importPublicJwk, type KeyAlgorithm, thumbprint } from "../crypto/keys";
import type { Db } from "../db/client";
import type { ServiceKey } from "../db/schema";
import { keyserverJwtRefusal } from "../domain/trust";
import { ApiError, badRequest, notFound } from "../errors";
import type { Actor } from "./audit";
import {
  assertManageable,
  deleteServiceKey,
  findServiceKey,
  isKeyExpired,
  registerServiceKey,
  rotateServiceKey,
  type SpentJti,
} from "./serviceKeys";

/*
 * Quay's keyserver: services register and rotate their own keys, proving possession with a
 * JWT. A self-signed JWT registers a key that waits for a superuser; a JWT signed by an
 * approved, unexpired key of the same service rotates that key (the new one inherits the
 * approval, the old one goes). What a keyserver JWT must be is domain/trust.ts's
 * keyserverJwtRefusal; each is single-use.
 */

const forbidden = (message: string) => new ApiError("forbidden", message);

/** Verifies the JWT against `key` and the keyserver's boundary; returns its jti to spend. */
async function verify(token: string, key: Pick<ServiceKey, "jwk" | "alg">, service: string, config: Config): Promise<SpentJti> {
  try {
    const payload = await verifyServiceJwt(token, key.jwk, key.alg as KeyAlgorithm, {
      issuer: service,
      audience: config.audience,
    });
    const refusal = keyserverJwtRefusal(decodeProtectedHeader(token), payload, service, config);
    if (refusal) throw forbidden(refusal);
    return { id: `${service}:${payload.jti}`, expiresAt: new Date(payload.exp! * 1000) };
  } catch (err) {
    if (err instanceof JwtRejected) throw forbidden(err.message);
    throw err;
  }
}

function kidOf(token: string): string | null {
  try {
    return signerKid(token);
  } catch (err) {
    if (err instanceof JwtRejected) throw badRequest(err.message);
    throw err;
  }
}

/** The approved, unexpired key of `service` with this kid, or a 403. */
async function approvedSigner(db: Db, service: string, kid: string): Promise<ServiceKey> {
  const signer = await findServiceKey(db, kid);
  if (!signer || signer.service !== service || !signer.approvedAt || isKeyExpired(signer)) {
    throw forbidden("The JWT is not signed by an approved key of this service");
  }
  return signer;
}

export interface PutKeyInput {
  service: string;
  kid: string;
  jwk: JWK;
  token: string;
  expiration: Date | null;
  rotationDurationSeconds: number | null;
  ip: string | null;
}

export async function putKey(db: Db, config: Config, actor: Actor, input: PutKeyInput): Promise<"registered" | "rotated"> {
  // keyward's own keys first: no JWT, however signed, may touch them.
  assertManageable(input.service, config);
  let alg: KeyAlgorithm;
  try {
    alg = algorithmOf(input.jwk);
  } catch {
    throw badRequest("Unsupported key: use RSA (2048 bits or more) or EC P-256");
  }
  try {
    // Imported for real: a point that is not on the curve (or a broken modulus) is refused
    // here, on rotation too, where no signature by the new key is ever checked.
    await importPublicJwk(input.jwk, alg);
  } catch {
    throw badRequest("The JWK is not a valid public key");
  }
  if ((await thumbprint(input.jwk)) !== input.kid) {
    throw badRequest("kid must be the RFC 7638 thumbprint (SHA-256) of the JWK");
  }
  const key = {
    service: input.service,
    kid: input.kid,
    jwk: input.jwk,
    expiration: input.expiration,
    rotationDurationSeconds: input.rotationDurationSeconds,
    metadata: { ip: input.ip },
  };
  const signer = kidOf(input.token);
  if (signer === null || signer === input.kid) {
    const jti = await verify(input.token, { jwk: input.jwk, alg }, input.service, config);
    await registerServiceKey(db, config, actor, key, jti);
    return "registered";
  }
  const signerKey = await approvedSigner(db, input.service, signer);
  const jti = await verify(input.token, signerKey, input.service, config);
  await rotateServiceKey(db, config, actor, signerKey, key, jti);
  return "rotated";
}

export async function deleteKey(db: Db, config: Config, actor: Actor, input: { service: string; kid: string; token: string }) {
  assertManageable(input.service, config);
  const key = await findServiceKey(db, input.kid);
  if (!key || key.service !== input.service) throw notFound(`Service key ${input.kid} not found`);
  const signer = kidOf(input.token) ?? input.kid;
  const signerKey = signer === input.kid ? key : await approvedSigner(db, input.service, signer);
  const jti = await verify(input.token, signerKey, input.service, config);
  await deleteServiceKey(db, config, actor, input.kid, signer === input.kid ? "self" : `signer ${signer}`, jti);
}
