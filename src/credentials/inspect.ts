import { eq, sql } from "drizzle-orm";
import type { Config } from "../config";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { apiKeys, deprecatedSecrets, refreshTokens, registryTokens, sessions } from "../db/schema";
import type { Actor, Lineage } from "../domain/access";
import { type PresentedKind, presentedKind } from "../domain/trust";
import { auditInsertWhere } from "../services/audit";
import { lookupHashes } from "./issue";
import {
  apiKeyLookup,
  deprecatedApiKeyLookup,
  deprecatedRegistryTokenLookup,
  refreshParentDeprecated,
  refreshParentKey,
  refreshParentToken,
  refreshTokenLookup,
  registryTokenLookup,
  sessionLookup,
} from "./lookups";
import {
  apiKeyState,
  cappedAtSunset,
  deprecatedState,
  refreshParentLineage,
  refreshTokenState,
  registryTokenState,
  sessionState,
} from "./state";

/*
 * A keyward secret resolved to what it is, whose it is and whether it is alive — without
 * using it: no failure counter, no lastUsed, no re-hash. Holding a secret proves nothing about
 * who holds it, so introspection (RFC 7662), revocation (RFC 7009) and the public leak report
 * ask this, never verifyCredential. Liveness is credentials/state.ts, the rules verification
 * applies. One D1 read; a malformed secret costs none.
 */

export type SecretKind = Exclude<PresentedKind, "password" | "access_token">;

export interface FoundSecret {
  kind: SecretKind;
  id: string;
  /** A rotated credential's old secret: its deprecated_secrets row (`id` is the credential's). */
  deprecatedId?: string;
  /** The user whose rights it carries (a registry token: whoever last set it). */
  user: { id: string; username: string; superuser: boolean; enabled: boolean };
  /** null when it would be accepted now; else why not (expired, disabled, parent_revoked…). */
  deadReason: string | null;
  /** What it is and descends from, for its narrowing (null: a refresh token whose parent is gone). */
  lineage: Lineage | null;
  /** The name it logs in with: a registry token's name, else the user's. */
  subject: string;
  /** The registry service it serves (registry and refresh tokens). */
  service: string | null;
  clientId: string | null;
  createdAt: Date;
  expiresAt: Date | null;
}

/** What a value presented to the OAuth endpoints is, by its shape alone (no I/O). */
export function secretKindOf(value: string): SecretKind | "access_token" | null {
  const kind = presentedKind(value);
  return kind === "password" ? null : kind;
}

export async function findSecret(db: Db, config: Config, secret: string): Promise<FoundSecret | null> {
  const kind = secretKindOf(secret);
  if (kind === null || kind === "access_token") return null;
  const hashes = await lookupHashes(secret, config);
  switch (kind) {
    case "api_key": {
      const [key] = await apiKeyLookup(db, hashes);
      if (!key) return findDeprecatedApiKey(db, hashes);
      const lineage: Lineage = { kind, id: key.id, scopes: key.scopes, expiresAt: key.expiresAt };
      return {
        kind,
        ...common(key, lineage),
        deadReason: apiKeyState(key),
        subject: key.user.username,
        service: null,
        clientId: null,
      };
    }
    case "registry_token": {
      const [token] = await registryTokenLookup(db, hashes);
      if (!token) return findDeprecatedRegistryToken(db, hashes);
      const lineage: Lineage = { kind, id: token.id, name: token.name, scopes: token.scopes, expiresAt: token.expiresAt };
      return {
        kind,
        ...common(token, lineage),
        deadReason: registryTokenState(token),
        subject: token.name,
        service: token.service,
        clientId: null,
      };
    }
    case "refresh_token": {
      const r = await batchNamed(db, {
        token: refreshTokenLookup(db, hashes),
        parentKey: refreshParentKey(db, hashes),
        parentToken: refreshParentToken(db, hashes),
        parentDeprecated: refreshParentDeprecated(db, hashes),
      });
      const token = r.token[0];
      if (!token) return null;
      const parents = { key: r.parentKey[0], token: r.parentToken[0], deprecated: r.parentDeprecated[0] };
      const parent = refreshParentLineage(token.via, parents);
      return {
        kind,
        ...common(token, parent && { kind, id: token.id, parent }),
        deadReason: refreshTokenState(token, parents),
        subject: parent?.kind === "registry_token" ? parent.name : token.user.username,
        service: token.service,
        clientId: token.clientId,
      };
    }
    case "session": {
      const [session] = await sessionLookup(db, hashes);
      if (!session) return null;
      const lineage: Lineage = { kind, id: session.id, signedInAt: session.signedInAt };
      return {
        kind,
        ...common(session, lineage),
        deadReason: sessionState(session),
        subject: session.user.username,
        service: null,
        clientId: null,
      };
    }
  }
}

/** A rotated API key's old secret: the key, alive until the secret's sunset. */
async function findDeprecatedApiKey(db: Db, hashes: string[]): Promise<FoundSecret | null> {
  const [key] = await deprecatedApiKeyLookup(db, hashes);
  if (!key) return null;
  const expiresAt = cappedAtSunset(key.expiresAt, key.sunsetAt);
  const lineage: Lineage = { kind: "api_key", id: key.id, scopes: key.scopes, expiresAt };
  return {
    kind: "api_key",
    ...common({ ...key, expiresAt }, lineage),
    deprecatedId: key.deprecatedId,
    deadReason: deprecatedState(key) ?? apiKeyState(key),
    subject: key.user.username,
    service: null,
    clientId: null,
  };
}

/** A rotated registry token's old secret: the token, alive until the secret's sunset. */
async function findDeprecatedRegistryToken(db: Db, hashes: string[]): Promise<FoundSecret | null> {
  const [token] = await deprecatedRegistryTokenLookup(db, hashes);
  if (!token) return null;
  const expiresAt = cappedAtSunset(token.expiresAt, token.sunsetAt);
  const lineage: Lineage = { kind: "registry_token", id: token.id, name: token.name, scopes: token.scopes, expiresAt };
  return {
    kind: "registry_token",
    ...common({ ...token, expiresAt }, lineage),
    deprecatedId: token.deprecatedId,
    deadReason: deprecatedState(token) ?? registryTokenState(token),
    subject: token.name,
    service: token.service,
    clientId: null,
  };
}

function common(
  row: { id: string; user: FoundSecret["user"]; createdAt: Date; expiresAt: Date | null },
  lineage: Lineage | null,
): Pick<FoundSecret, "id" | "user" | "lineage" | "createdAt" | "expiresAt"> {
  const { id, username, superuser, enabled } = row.user;
  return {
    id: row.id,
    user: { id, username, superuser, enabled },
    lineage,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
  };
}

/** The table each kind lives in: deleting the row ends the secret and (FK cascade) its children. */
const TABLES = { api_key: apiKeys, registry_token: registryTokens, refresh_token: refreshTokens, session: sessions } as const;

/**
 * Ends a found secret: its row is deleted — refresh tokens it minted and keys made with it go
 * with it (FK cascade) — with one audit entry. Of concurrent ends exactly one writes the entry.
 * Answers whether this call ended it.
 */
export async function endSecret(
  db: Db,
  actor: Actor,
  found: Pick<FoundSecret, "kind" | "id" | "user" | "deprecatedId">,
  event: { kind: string; metadata?: Record<string, unknown> },
): Promise<boolean> {
  // A rotated credential's old secret ends alone: the credential and its new secret live on.
  const table = found.deprecatedId ? deprecatedSecrets : TABLES[found.kind];
  const target = eq(table.id, found.deprecatedId ?? found.id);
  const { removed } = await batchNamed(db, {
    audit: auditInsertWhere(
      db,
      actor,
      {
        kind: event.kind,
        subjectUserId: found.user.id,
        targetType: found.kind,
        targetId: found.id,
        metadata: {
          owner: found.user.username,
          ...(found.deprecatedId ? { deprecatedSecretId: found.deprecatedId } : {}),
          ...event.metadata,
        },
      },
      sql`EXISTS (SELECT 1 FROM ${table} WHERE ${target})`,
    ),
    removed: db.delete(table).where(target).returning({ id: table.id }),
  });
  return removed.length > 0;
}
