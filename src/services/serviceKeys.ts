import { and, asc, desc, eq, gt, isNotNull, isNull, or } from "drizzle-orm";
import type { JWK } from "jose";
import { algorithmOf, exportPems, exportPublicJwk, generateKeyPair, thumbprint, type KeyAlgorithm } from "../crypto/keys";
import type { Db } from "../db/client";
import { serviceKeys, type ServiceKey } from "../db/schema";
import { ApiError, badRequest, conflict, notFound } from "../errors";
import { auditInsert, type Actor } from "./audit";

/** keyward's own signing keys live under this service; nobody else may add keys to it. */
export const KEYWARD_SERVICE = "keyward";

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

function assertNotReserved(service: string) {
  if (service === KEYWARD_SERVICE) {
    throw new ApiError("forbidden", `Service "${KEYWARD_SERVICE}" is reserved for keyward's own signing keys`);
  }
}

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
export async function createServiceKey(db: Db, actor: Actor, input: NewServiceKey) {
  assertNotReserved(input.service);
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
export async function updateServiceKey(db: Db, actor: Actor, kid: string, changes: ServiceKeyChanges) {
  const key = await getServiceKey(db, kid);
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

export async function deleteServiceKey(db: Db, actor: Actor, kid: string, how = "superuser") {
  const key = await getServiceKey(db, kid);
  await db.batch([
    db.delete(serviceKeys).where(eq(serviceKeys.kid, kid)),
    auditInsert(db, actor, {
      kind: "service_key.delete",
      targetType: "service_key",
      targetId: kid,
      metadata: { service: key.service, by: how },
    }),
  ]);
}

/** Approving an approved key is not an error (Quay answers 201 either way). */
export async function approveServiceKey(db: Db, actor: Actor, kid: string, notes: string) {
  const key = await getServiceKey(db, kid);
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
export async function registerServiceKey(db: Db, actor: Actor, input: RegisteredKey) {
  assertNotReserved(input.service);
  assertFuture(input.expiration);
  if (await findServiceKey(db, input.kid)) throw conflict(`Service key ${input.kid} already exists`);
  await db.batch([
    db.insert(serviceKeys).values(newKeyRow(input, null)),
    auditInsert(db, actor, {
      kind: "service_key.register",
      targetType: "service_key",
      targetId: input.kid,
      metadata: { service: input.service },
    }),
  ]);
}

/** Keyserver PUT signed by an approved key: the new key replaces it and inherits its approval. */
export async function rotateServiceKey(db: Db, actor: Actor, signer: ServiceKey, input: RegisteredKey) {
  assertFuture(input.expiration);
  if (await findServiceKey(db, input.kid)) throw conflict(`Service key ${input.kid} already exists`);
  const row = newKeyRow({ ...input, metadata: { ...input.metadata, created_by: "Key Rotation" } }, signer);
  await db.batch([
    db.delete(serviceKeys).where(eq(serviceKeys.kid, signer.kid)),
    db.insert(serviceKeys).values(row),
    auditInsert(db, actor, {
      kind: "service_key.rotate",
      targetType: "service_key",
      targetId: input.kid,
      metadata: { service: input.service, replaces: signer.kid },
    }),
  ]);
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
