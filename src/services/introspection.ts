import type { Config } from "../config";
import { endSecret, findSecret, type SecretKind, secretKindOf } from "../credentials/inspect";
import type { Db } from "../db/client";
import { ALL_ACTIONS, narrowingOf, type Principal, ROLE_ACTIONS, type Scope } from "../domain/access";
import { mayIntrospect } from "../domain/trust";
import { readAccessToken } from "./accessTokens";
import type { Actor } from "./audit";
import { listGrants } from "./permissions";
import { findUserById } from "./users";

/*
 * RFC 7662 introspection and RFC 7009 revocation over every keyward secret, and over the
 * access tokens /v2/auth signs (introspection only: registries verify those offline).
 */

export type Introspection =
  | { active: false }
  | {
      active: true;
      token_type: SecretKind | "access_token";
      username: string;
      sub: string;
      scope: string;
      iat: number;
      exp?: number;
      nbf?: number;
      client_id?: string;
      iss: string;
      aud?: string;
      jti: string;
    };

const INACTIVE = { active: false } as const;
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Docker's scope grammar, space-separated: `repository:<glob>:<actions>`, `*` for every action. */
function scopeString(scopes: Scope[]): string {
  return scopes
    .filter((s) => s.actions.length > 0)
    .map((s) => {
      const all = ALL_ACTIONS.every((a) => s.actions.includes(a));
      return `${s.type}:${s.name}:${all ? "*" : s.actions.join(",")}`;
    })
    .join(" ");
}

/** What a credential with its user's full rights may touch: the user's namespace and grants. */
async function fullRights(db: Db, user: { id: string; username: string; superuser: boolean }): Promise<Scope[]> {
  if (user.superuser) {
    return [
      { type: "repository", name: "*", actions: [...ALL_ACTIONS] },
      { type: "registry", name: "catalog", actions: ["*"] },
    ];
  }
  const grants = await listGrants(db, user.id);
  return [
    { type: "repository", name: `${user.username}/*`, actions: [...ALL_ACTIONS] },
    ...grants.map((g): Scope => ({ type: "repository", name: g.pattern, actions: [...ROLE_ACTIONS[g.role]] })),
  ];
}

export async function introspect(db: Db, config: Config, caller: Principal, token: string): Promise<Introspection> {
  const kind = secretKindOf(token);
  if (kind === null) return INACTIVE;
  if (kind === "access_token") {
    const claims = await readAccessToken(db, config, token);
    // An anonymous token (no owner) is a superuser's business only.
    const ownerId = typeof claims?.uid === "string" ? claims.uid : "";
    if (!claims || !mayIntrospect(caller, { userId: ownerId })) return INACTIVE;
    const owner = ownerId ? await findUserById(db, ownerId) : undefined;
    const access = Array.isArray(claims.access) ? (claims.access as Scope[]) : [];
    return {
      active: true,
      token_type: "access_token",
      username: owner?.username ?? "",
      sub: String(claims.sub),
      scope: scopeString(access),
      iat: claims.iat!,
      exp: claims.exp!,
      ...(claims.nbf !== undefined ? { nbf: claims.nbf } : {}),
      iss: String(claims.iss),
      aud: String(claims.aud),
      jti: String(claims.jti ?? ""),
    };
  }
  const found = await findSecret(db, config, token);
  if (!found || found.deadReason !== null || !found.lineage) return INACTIVE;
  if (!mayIntrospect(caller, { userId: found.user.id })) return INACTIVE;
  const narrowing = narrowingOf(found.lineage);
  return {
    active: true,
    token_type: found.kind,
    username: found.user.username,
    sub: found.subject,
    scope: scopeString(narrowing ?? (await fullRights(db, found.user))),
    iat: seconds(found.createdAt),
    ...(found.expiresAt ? { exp: seconds(found.expiresAt) } : {}),
    ...(found.clientId ? { client_id: found.clientId } : {}),
    iss: config.issuer,
    ...(found.service ? { aud: found.service } : {}),
    jti: found.id,
  };
}

export type Revocation = "revoked" | "unknown" | "access_token";

/**
 * Ends the secret presented, whoever presents it (possession suffices, RFC 7009); its refresh
 * tokens and the keys made with it end with it. Unknown and malformed values are "unknown"
 * (the endpoint answers 200 all the same); an access token cannot be revoked.
 */
export async function revokePresented(db: Db, config: Config, actor: Actor, token: string): Promise<Revocation> {
  const kind = secretKindOf(token);
  if (kind === "access_token") return "access_token";
  if (kind === null) return "unknown";
  const found = await findSecret(db, config, token);
  if (!found) return "unknown";
  const ended = await endSecret(db, actor, found, { kind: "credential.revoke", metadata: { endpoint: "oauth/revoke" } });
  return ended ? "revoked" : "unknown";
}
