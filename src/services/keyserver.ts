import type { JWK } from "jose";
import type { Config } from "../config";
import { JwtRejected, signerKid, verifyServiceJwt } from "../crypto/jwt";
import { algorithmOf, thumbprint, type KeyAlgorithm } from "../crypto/keys";
import type { Db } from "../db/client";
import type { ServiceKey } from "../db/schema";
import { ApiError, badRequest, notFound } from "../errors";
import type { Actor } from "./audit";
import {
  deleteServiceKey,
  findServiceKey,
  isKeyExpired,
  registerServiceKey,
  rotateServiceKey,
} from "./serviceKeys";

/*
 * Quay's keyserver: services register and rotate their own keys, proving possession with a
 * JWT. A self-signed JWT registers a key that waits for a superuser; a JWT signed by an
 * approved, unexpired key of the same service rotates that key (the new one inherits the
 * approval, the old one goes).
 */

const forbidden = (message: string) => new ApiError("forbidden", message);

async function verify(token: string, key: Pick<ServiceKey, "jwk" | "alg">, service: string, config: Config) {
  try {
    await verifyServiceJwt(token, key.jwk, key.alg as KeyAlgorithm, {
      issuer: service,
      audience: config.audience,
    });
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
  let alg;
  try {
    alg = algorithmOf(input.jwk);
  } catch {
    throw badRequest("Unsupported key: use RSA (2048 bits or more) or EC P-256");
  }
  if ((await thumbprint(input.jwk)) !== input.kid) {
    throw badRequest("kid must be the RFC 7638 thumbprint (SHA-256) of the JWK");
  }
  const key = { service: input.service, kid: input.kid, jwk: input.jwk, expiration: input.expiration,
    rotationDurationSeconds: input.rotationDurationSeconds, metadata: { ip: input.ip } };
  const signer = kidOf(input.token);
  if (signer === null || signer === input.kid) {
    await verify(input.token, { jwk: input.jwk, alg }, input.service, config);
    await registerServiceKey(db, actor, key);
    return "registered";
  }
  const signerKey = await approvedSigner(db, input.service, signer);
  await verify(input.token, signerKey, input.service, config);
  await rotateServiceKey(db, actor, signerKey, key);
  return "rotated";
}

export async function deleteKey(db: Db, config: Config, actor: Actor, input: { service: string; kid: string; token: string }) {
  const key = await findServiceKey(db, input.kid);
  if (!key || key.service !== input.service) throw notFound(`Service key ${input.kid} not found`);
  const signer = kidOf(input.token) ?? input.kid;
  const signerKey = signer === input.kid ? key : await approvedSigner(db, input.service, signer);
  await verify(input.token, signerKey, input.service, config);
  await deleteServiceKey(db, actor, input.kid, signer === input.kid ? "self" : `signer ${signer}`);
}
