import { and, asc, desc, eq, gt, isNotNull, isNull, or, sql } from "drizzle-orm";
import type { JWK } from "jose";
import type { Config } from "../config";
import { algorithmOf, exportPems, exportPublicJwk, generateKeyPair, type KeyAlgorithm, thumbprint } from "../crypto/keys";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { insertWhere } from "../db/conditional";
import { keyserverJtis, type ServiceKey, serviceKeys } from "../db/schema";
import { KEYWARD_SERVICE, reservedNames } from "../domain/trust";
import { ApiError, badRequest, conflict, notFound } from "../errors";
import { type Actor, auditInsert, auditInsertWhere } from "./audit";
import { isUniqueViolation } from "./users";

export { KEYWARD_SERVICE };

/** A single-use keyserver JWT's id, remembered until its exp (in the batch of its effect). */
export interface SpentJti {
  id: string;
  expiresAt: Date;
}

export const APPROVAL = {
  superuser: "ServiceKeyApprovalType.SUPERUSER",
  automatic: "ServiceKeyApprovalType.AUTOMATIC",
  rotation: "ServiceKeyApprovalType.KEY_ROTATION",
} as const;

const httpDate = (d: Date | null) => (d ? d.toUTCString() : null);

/** Quay's key object: HTTP-date strings, `approval` null until approved. */
export function serviceKeyView(key: ServiceKey) {
  return {
    kid: key.kid,
    name: key.name,
    service: key.service,
    jwk: publishedJwk(key),
    metadata: key.metadata,
    created_date: httpDate(key.createdAt),
    expiration_date: httpDate(key.expiresAt),
    rotation_duration: key.rotationDurationSeconds,
    approval: key.approvedAt
      ? {
          approval_type: key.approvalType,
          approver: key.approver ? { name: key.approver, username: key.approver, kind: "user" } : null,
          approved_date: httpDate(key.approvedAt),
          notes: key.approvalNotes ?? "",
        }
      : null,
  };
}

/** The public JWK as published in a JWKS; keyward's own keys carry their leaf certificate. */
export function publishedJwk(key: Pick<ServiceKey, "jwk" | "kid" | "alg" | "certificate">): JWK {
  return { ...key.jwk, kid: key.kid, alg: key.alg, use: "sig", ...(key.certificate ? { x5c: [key.certificate] } : {}) };
}

export function isKeyExpired(key: Pick<ServiceKey, "expiresAt">, now = Date.now()): boolean {
  return key.expiresAt !== null && key.expiresAt.getTime() <= now;
}

function assertFuture(expiration: Date | null, now = Date.now()) {
  if (expiration && expiration.getTime() <= now) throw badRequest("Expiration date cannot be in the past");
}

/**
 * keyward's own signing keys (and any service named like keyward's issuer or audience) are
 * managed by keyward alone: never through the keyserver or the superuser key API.
 */
export function assertManageable(service: string, config: Pick<Config, "issuer" | "audience">) {
  if (reservedNames(config).has(service)) {
    throw new ApiError("forbidden", `Service "${service}" is keyward's own: its signing keys are managed by keyward alone`);
  }
}

/** A unique violation on the jti table is a replay; on the keys table, a duplicate kid. */
function rethrowConflict(err: unknown, kid: string): never {
  if (isUniqueViolation(err)) {
    const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : "";
    if (text.includes("keyserver_jtis")) throw new ApiError("forbidden", "This JWT was used already (jti replay)");
    throw conflict(`Service key ${kid} already exists`);
  }
  throw err;
}

const spendJti = (db: Db, jti: SpentJti) => db.insert(keyserverJtis).values(jti);

export async function findServiceKey(db: Db, kid: string): Promise<ServiceKey | undefined> {
  const [key] = await db.select().from(serviceKeys).where(eq(serviceKeys.kid, kid));
  return key;
}

export async function getServiceKey(db: Db, kid: string): Promise<ServiceKey> {
  const key = await findServiceKey(db, kid);
  if (!key) throw notFound(`Service key ${kid} not found`);
  return key;
}

export function listServiceKeys(db: Db): Promise<ServiceKey[]> {
  return db.select().from(serviceKeys).orderBy(asc(serviceKeys.service), desc(serviceKeys.createdAt));
}

/** Approved, unexpired keys of a service: what its JWKS publishes. */
export function listPublishedKeys(db: Db, service: string, now = new Date()): Promise<ServiceKey[]> {
  return db
    .select()
    .from(serviceKeys)
    .where(
      and(
        eq(serviceKeys.service, service),
        isNotNull(serviceKeys.approvedAt),
        or(isNull(serviceKeys.expiresAt), gt(serviceKeys.expiresAt, now)),
      ),
    )
    .orderBy(desc(serviceKeys.createdAt));
}

export interface NewServiceKey {
  service: string;
  expiration: Date | null;
  name?: string | null;
  metadata?: Record<string, unknown>;
  notes?: string;
  algorithm: KeyAlgorithm;
}

/**
 * Quay's superuser create: generates the pair, stores only the public JWK, approves it as
 * the superuser, and returns the private key once (it is not stored).
 */
export async function createServiceKey(db: Db, config: Config, actor: Actor, input: NewServiceKey) {
  assertManageable(input.service, config);
  assertFuture(input.expiration);
  const pair = await generateKeyPair(input.algorithm);
  const jwk = await exportPublicJwk(pair.publicKey);
  const kid = await thumbprint(jwk);
  const pems = await exportPems(pair);
  const now = new Date();
  const key: ServiceKey = {
    kid,
    service: input.service,
    name: input.name ?? null,
    alg: input.algorithm,
    jwk,
    metadata: { created_by: actor.name, ...(input.metadata ?? {}) },
    createdAt: now,
    expiresAt: input.expiration,
    rotationDurationSeconds: null,
    approvalType: APPROVAL.superuser,
    approver: actor.name,
    approvedAt: now,
    approvalNotes: input.notes ?? "",
    privateKeyEnc: null,
    certificate: null,
    flaggedAt: null,
  };
  await db.batch([
    db.insert(serviceKeys).values(key),
    auditInsert(db, actor, {
      kind: "service_key.create",
      targetType: "service_key",
      targetId: kid,
      metadata: { service: key.service, name: key.name, alg: key.alg, expiresAt: key.expiresAt?.toISOString() ?? null },
    }),
  ]);
  return { key, publicPem: pems.publicPem, privatePem: pems.privatePem };
}

export interface ServiceKeyChanges {
  name?: string | null;
  metadata?: Record<string, unknown>;
  expiration?: Date | null;
}

/** Quay's PUT: sets name and expiration, merges metadata. */
export async function updateServiceKey(db: Db, config: Config, actor: Actor, kid: string, changes: ServiceKeyChanges) {
  const key = await getServiceKey(db, kid);
  assertManageable(key.service, config);
  if (changes.expiration !== undefined) assertFuture(changes.expiration);
  const set: Partial<ServiceKey> = {};
  if (changes.name !== undefined) set.name = changes.name;
  if (changes.metadata !== undefined) set.metadata = { ...key.metadata, ...changes.metadata };
  if (changes.expiration !== undefined) set.expiresAt = changes.expiration;
  if (Object.keys(set).length === 0) return key;
  const [updated] = await db.batch([
    db.update(serviceKeys).set(set).where(eq(serviceKeys.kid, kid)).returning(),
    auditInsert(db, actor, {
      kind: "service_key.update",
      targetType: "service_key",
      targetId: kid,
      metadata: { service: key.service, changed: Object.keys(changes) },
    }),
  ]);
  // Deleted between the read and the write.
  if (!updated[0]) throw notFound(`Service key ${kid} not found`);
  return updated[0];
}

/**
 * Deletes a key (superuser, or keyserver with a JWT): one delete, one audit row; a delete that
 * lost a race with another is a 404.
 */
export async function deleteServiceKey(
  db: Db,
  config: Config,
  actor: Actor,
  kid: string,
  how = "superuser",
  jti: SpentJti | null = null,
) {
  const key = await getServiceKey(db, kid);
  assertManageable(key.service, config);
  const exists = sql`EXISTS (SELECT 1 FROM ${serviceKeys} WHERE ${serviceKeys.kid} = ${kid})`;
  let removed: { kid: string }[];
  try {
    ({ removed } = await batchNamed(db, {
      jti: jti ? [spendJti(db, jti)] : [],
      audit: auditInsertWhere(
        db,
        actor,
        { kind: "service_key.delete", targetType: "service_key", targetId: kid, metadata: { service: key.service, by: how } },
        exists,
      ),
      removed: db.delete(serviceKeys).where(eq(serviceKeys.kid, kid)).returning({ kid: serviceKeys.kid }),
    }));
  } catch (err) {
    rethrowConflict(err, kid);
  }
  if (removed.length === 0) throw notFound(`Service key ${kid} not found`);
}

/** Approving an approved key is not an error (Quay answers 201 either way). */
export async function approveServiceKey(db: Db, config: Config, actor: Actor, kid: string, notes: string) {
  const key = await getServiceKey(db, kid);
  assertManageable(key.service, config);
  if (key.approvedAt) return key;
  const now = new Date();
  const [updated] = await db.batch([
    db
      .update(serviceKeys)
      .set({ approvalType: APPROVAL.superuser, approver: actor.name, approvedAt: now, approvalNotes: notes })
      .where(eq(serviceKeys.kid, kid))
      .returning(),
    auditInsert(db, actor, {
      kind: "service_key.approve",
      targetType: "service_key",
      targetId: kid,
      metadata: { service: key.service, notes },
    }),
  ]);
  // Deleted between the read and the write.
  if (!updated[0]) throw notFound(`Service key ${kid} not found`);
  return updated[0];
}

export interface RegisteredKey {
  service: string;
  kid: string;
  jwk: JWK;
  expiration: Date | null;
  rotationDurationSeconds: number | null;
  metadata: Record<string, unknown>;
}

/** Keyserver PUT with a self-signed JWT: stored unapproved, awaiting a superuser. */
export async function registerServiceKey(db: Db, config: Config, actor: Actor, input: RegisteredKey, jti: SpentJti) {
  assertManageable(input.service, config);
  assertFuture(input.expiration);
  if (await findServiceKey(db, input.kid)) throw conflict(`Service key ${input.kid} already exists`);
  try {
    await db.batch([
      spendJti(db, jti),
      db.insert(serviceKeys).values(newKeyRow(input, null)),
      auditInsert(db, actor, {
        kind: "service_key.register",
        targetType: "service_key",
        targetId: input.kid,
        metadata: { service: input.service },
      }),
    ]);
  } catch (err) {
    // Two registrations of one kid at once: the loser is a 409, never a 500.
    rethrowConflict(err, input.kid);
  }
}

/**
 * Keyserver PUT signed by an approved key: the new key replaces the signer and inherits its
 * approval. One approval must never become two keys: the new key (and its audit row) is
 * written only if the signer is still there, in the same transaction that deletes it, so of
 * parallel rotations signed by one key exactly one wins; the others get 409.
 */
export async function rotateServiceKey(
  db: Db,
  config: Config,
  actor: Actor,
  signer: ServiceKey,
  input: RegisteredKey,
  jti: SpentJti,
) {
  assertManageable(input.service, config);
  assertFuture(input.expiration);
  if (await findServiceKey(db, input.kid)) throw conflict(`Service key ${input.kid} already exists`);
  const row = newKeyRow({ ...input, metadata: { ...input.metadata, created_by: "Key Rotation" } }, signer);
  const signerStillApproved = sql`EXISTS (SELECT 1 FROM ${serviceKeys} WHERE ${serviceKeys.kid} = ${signer.kid} AND ${serviceKeys.approvedAt} IS NOT NULL)`;
  let inserted: { kid: string }[];
  try {
    ({ inserted } = await batchNamed(db, {
      jti: spendJti(db, jti),
      inserted: insertWhere(db, serviceKeys, row, signerStillApproved).returning({ kid: serviceKeys.kid }),
      audit: auditInsertWhere(
        db,
        actor,
        {
          kind: "service_key.rotate",
          targetType: "service_key",
          targetId: input.kid,
          metadata: { service: input.service, replaces: signer.kid },
        },
        signerStillApproved,
      ),
      removed: db.delete(serviceKeys).where(eq(serviceKeys.kid, signer.kid)),
    }));
  } catch (err) {
    rethrowConflict(err, input.kid);
  }
  if (inserted.length === 0) throw conflict(`Service key ${signer.kid} was rotated or deleted already`);
}

function newKeyRow(input: RegisteredKey, inheritFrom: ServiceKey | null): ServiceKey {
  const now = new Date();
  return {
    kid: input.kid,
    service: input.service,
    name: inheritFrom?.name ?? null,
    alg: algorithmOf(input.jwk),
    jwk: input.jwk,
    metadata: input.metadata,
    createdAt: now,
    expiresAt: input.expiration,
    rotationDurationSeconds: input.rotationDurationSeconds,
    approvalType: inheritFrom ? APPROVAL.rotation : null,
    approver: inheritFrom?.approver ?? null,
    approvedAt: inheritFrom ? now : null,
    approvalNotes: inheritFrom ? `rotated from ${inheritFrom.kid}` : null,
    privateKeyEnc: null,
    certificate: null,
    flaggedAt: null,
  };
}
