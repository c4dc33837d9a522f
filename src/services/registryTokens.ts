import { and, asc, count, eq, gt } from "drizzle-orm";
import type { Config } from "../config";
import { newSecret } from "../credentials/issue";
import type { Db } from "../db/client";
import { deprecatedSecrets, type Registry, type RegistryToken, refreshTokens, registryTokens } from "../db/schema";
import type { Principal } from "../domain/access";
import { badRequest, conflict, notFound } from "../errors";
import { type Actor, auditInsert } from "./audit";
import { assertWithinPolicy } from "./policy";

/*
 * IONOS-style registry access tokens: robots log in at /v2/auth with `name:krt_…` for their
 * registry's service only; the token's scopes decide, and never exceed its creator's rights.
 */

export type TokenScope = NonNullable<RegistryToken["scopes"]>[number];

export interface TokenFields {
  expiresAt: Date | null;
  scopes: TokenScope[];
  status: "enabled" | "disabled";
}

export const MIN_EXPIRY_AHEAD_MS = 3_600_000;

function assertExpiry(expiresAt: Date | null) {
  if (expiresAt && expiresAt.getTime() < Date.now() + MIN_EXPIRY_AHEAD_MS) {
    throw badRequest("expiryDate must be at least one hour in the future, or null");
  }
}

export async function getToken(db: Db, registry: Registry, tokenId: string): Promise<RegistryToken> {
  const [token] = await db
    .select()
    .from(registryTokens)
    .where(and(eq(registryTokens.registryId, registry.id), eq(registryTokens.id, tokenId)));
  if (!token) throw notFound(`Token ${tokenId} not found in registry ${registry.id}`);
  return token;
}

/**
 * One page, ordered by name through the (registry_id, name) index. `offset` costs O(offset)
 * rows skipped in the index; `after` (a token name) is keyset pagination, O(limit) at any depth.
 */
export async function listTokens(
  db: Db,
  registry: Registry,
  page: { offset: number; limit: number; after?: string },
): Promise<{ items: RegistryToken[]; total: number }> {
  const inRegistry = eq(registryTokens.registryId, registry.id);
  const where = page.after === undefined ? inRegistry : and(inRegistry, gt(registryTokens.name, page.after));
  const [items, totals] = await db.batch([
    db
      .select()
      .from(registryTokens)
      .where(where)
      .orderBy(asc(registryTokens.name))
      .limit(page.limit)
      .offset(page.after === undefined ? page.offset : 0),
    db.select({ total: count() }).from(registryTokens).where(inRegistry),
  ]);
  return { items, total: totals[0]?.total ?? 0 };
}

export async function createToken(
  db: Db,
  config: Config,
  actor: Actor,
  principal: Principal,
  registry: Registry,
  input: TokenFields & { name: string; id?: string },
): Promise<{ token: RegistryToken; password: string }> {
  assertExpiry(input.expiresAt);
  const now = new Date();
  await assertWithinPolicy(db, "registryTokens", { createdAt: now, expiresAt: input.expiresAt });
  const { secret: password, secretHash, pepperVersion } = await newSecret("krt", config);
  const token: RegistryToken = {
    id: input.id ?? crypto.randomUUID(),
    registryId: registry.id,
    name: input.name,
    secretHash,
    pepperVersion,
    scopes: input.scopes,
    status: input.status,
    expiresAt: input.expiresAt,
    createdAt: now,
    createdBy: principal.user.username,
    createdByUserId: principal.user.id,
    updatedAt: null,
    updatedBy: null,
    updatedByUserId: null,
    lastUsedAt: null,
    lastUsedIp: null,
    expiryNotice: null,
  };
  try {
    await db.batch([
      db.insert(registryTokens).values(token),
      auditInsert(db, actor, {
        kind: "registry_token.create",
        subjectUserId: principal.user.id,
        targetType: "registry_token",
        targetId: token.id,
        metadata: { registryId: registry.id, name: token.name, scopes: token.scopes, status: token.status },
      }),
    ]);
  } catch (err) {
    const text = err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : "";
    if (text.includes("UNIQUE constraint failed")) {
      throw conflict(
        text.includes("registry_tokens.id") ? `Token ${token.id} exists already` : `A token named ${input.name} exists already`,
      );
    }
    throw err;
  }
  return { token, password };
}

/** PUT on an existing token: new fields and a new password; the name cannot change. */
export async function replaceToken(
  db: Db,
  config: Config,
  actor: Actor,
  principal: Principal,
  existing: RegistryToken,
  input: TokenFields & { name: string },
): Promise<{ token: RegistryToken; password: string }> {
  if (input.name !== existing.name) throw badRequest("A token's name cannot be changed");
  assertExpiry(input.expiresAt);
  // A lifetime runs from the token's creation, which a replacement keeps (as the report reads it).
  await assertWithinPolicy(db, "registryTokens", { createdAt: existing.createdAt, expiresAt: input.expiresAt });
  const { secret: password, secretHash, pepperVersion } = await newSecret("krt", config);
  const [updated] = await db.batch([
    db
      .update(registryTokens)
      .set({
        secretHash,
        pepperVersion,
        scopes: input.scopes,
        status: input.status,
        expiresAt: input.expiresAt,
        updatedAt: new Date(),
        updatedBy: principal.user.username,
        updatedByUserId: principal.user.id,
      })
      .where(eq(registryTokens.id, existing.id))
      .returning(),
    // A new secret: refresh tokens minted with the old one end with it, and so do the old
    // secrets a rotation left working (a replacement is an end, not a rotation).
    db.delete(refreshTokens).where(eq(refreshTokens.registryTokenId, existing.id)),
    db.delete(deprecatedSecrets).where(eq(deprecatedSecrets.registryTokenId, existing.id)),
    auditInsert(db, actor, {
      kind: "registry_token.replace",
      subjectUserId: existing.createdByUserId,
      targetType: "registry_token",
      targetId: existing.id,
      metadata: { registryId: existing.registryId, name: existing.name },
    }),
  ]);
  if (!updated[0]) throw notFound(`Token ${existing.id} not found`);
  return { token: updated[0], password };
}

export async function patchToken(
  db: Db,
  actor: Actor,
  principal: Principal,
  existing: RegistryToken,
  changes: Partial<TokenFields>,
): Promise<RegistryToken> {
  if (changes.expiresAt !== undefined) {
    assertExpiry(changes.expiresAt);
    await assertWithinPolicy(db, "registryTokens", { createdAt: existing.createdAt, expiresAt: changes.expiresAt });
  }
  // A change that leaves the expiry alone (scopes, a disable) sets no lifetime: the policy does
  // not stand in the way of narrowing or ending an existing violator.
  const [updated] = await db.batch([
    db
      .update(registryTokens)
      .set({ ...changes, updatedAt: new Date(), updatedBy: principal.user.username, updatedByUserId: principal.user.id })
      .where(eq(registryTokens.id, existing.id))
      .returning(),
    // The token changed (scopes, status, expiry, whose rights it carries): refresh tokens it
    // minted end, so that a disable is an end, not a pause, and none outlives a narrowing.
    db.delete(refreshTokens).where(eq(refreshTokens.registryTokenId, existing.id)),
    auditInsert(db, actor, {
      kind: "registry_token.update",
      subjectUserId: existing.createdByUserId,
      targetType: "registry_token",
      targetId: existing.id,
      metadata: { registryId: existing.registryId, changed: Object.keys(changes), status: changes.status },
    }),
  ]);
  if (!updated[0]) throw notFound(`Token ${existing.id} not found`);
  return updated[0];
}

export async function deleteToken(db: Db, actor: Actor, existing: RegistryToken) {
  await db.batch([
    db.delete(registryTokens).where(eq(registryTokens.id, existing.id)),
    auditInsert(db, actor, {
      kind: "registry_token.delete",
      subjectUserId: existing.createdByUserId,
      targetType: "registry_token",
      targetId: existing.id,
      metadata: { registryId: existing.registryId, name: existing.name },
    }),
  ]);
}
