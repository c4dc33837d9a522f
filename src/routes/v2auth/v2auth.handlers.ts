import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { principalFromHeader, verifyPresented } from "../../auth/authenticate";
import { actorOf } from "../../auth/request";
import { mintRefreshToken } from "../../credentials/refreshTokens";
import { credentialExpiry, type Principal } from "../../domain/access";
import { type AccessEntry, grantAccess, parseScopes } from "../../domain/decisions";
import { reservedNames } from "../../domain/trust";
import type { AppEnv } from "../../env";
import { ApiError, badRequest, unauthorized } from "../../errors";
import { issueAccessToken, loadAccessContext } from "../../services/accessTokens";
import { tokenCaBundle } from "../../services/signingKeys";
import type { caBundleRoute, getTokenRoute, postTokenRoute } from "./v2auth.routes";

/** keyward's own issuer/audience is no registry: a token for it would be a key to keyward itself. */
function registryService(c: Context<AppEnv>, service: string | undefined): string {
  const value = service ?? c.get("config").defaultService;
  if (reservedNames(c.get("config")).has(value)) {
    throw new ApiError("bad_request", `"${value}" is keyward itself, not a registry service`);
  }
  return value;
}

/** The subject of the token: the user, or a registry token's own name (the robot). */
function subjectOf(principal: Principal | null): string {
  if (!principal) return "";
  const { lineage } = principal;
  if (lineage.kind === "registry_token") return lineage.name;
  if (lineage.kind === "refresh_token" && lineage.parent.kind === "registry_token") return lineage.parent.name;
  return principal.user.username;
}

async function accessTokenFor(c: Context<AppEnv>, principal: Principal | null, service: string, requested: AccessEntry[]) {
  const db = c.get("db");
  const access = requested.length > 0 ? grantAccess(await loadAccessContext(db, principal), requested) : [];
  return issueAccessToken(db, c.get("config"), {
    subject: subjectOf(principal),
    service,
    access,
    ownerId: principal?.user.id,
    notAfter: principal && credentialExpiry(principal.lineage),
  });
}

function refreshTokenFor(c: Context<AppEnv>, principal: Principal, service: string, clientId: string | undefined) {
  // The audit entry names who minted it, and with which credential.
  c.set("principal", principal);
  return mintRefreshToken(c.get("db"), c.get("config"), actorOf(c), principal, { service, clientId: clientId ?? null });
}

export const getToken: RouteHandler<typeof getTokenRoute, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  // Scopes and service are checked before any credential work: bad syntax is a 400 whoever asks.
  const scopes = query.scope === undefined ? [] : [query.scope].flat();
  const requested = parseScopes(scopes);
  const service = registryService(c, query.service);
  // The credential, grants and public repositories in one D1 round trip.
  const principal = await principalFromHeader(c, { boundary: "v2auth", withAccess: true, service });
  if (principal && query.account && query.account !== subjectOf(principal)) {
    throw unauthorized("account does not match the credentials");
  }
  const issued = await accessTokenFor(c, principal, service, requested);
  if (principal && query.offline_token === "true") {
    issued.refresh_token = await refreshTokenFor(c, principal, service, query.client_id);
  }
  return c.json(issued, 200);
};

export const postToken: RouteHandler<typeof postTokenRoute, AppEnv> = async (c) => {
  const form = c.req.valid("form");
  // Repeated scope= fields and space-separated scopes, as on GET.
  const scopes = form.scope === undefined ? [] : [form.scope].flat();
  const requested = parseScopes(scopes);
  const service = registryService(c, form.service);
  let principal: Principal;
  let refreshToken: string | undefined;
  if (form.grant_type === "password") {
    if (!form.username || !form.password) throw badRequest("username and password are required for grant_type=password");
    const presented = { username: form.username, value: form.password };
    principal = await verifyPresented(c, presented, { boundary: "v2auth", withAccess: true, service });
    if (form.access_type === "offline") refreshToken = await refreshTokenFor(c, principal, service, form.client_id);
  } else {
    if (!form.refresh_token) throw badRequest("refresh_token is required for grant_type=refresh_token");
    const presented = { username: null, value: form.refresh_token };
    principal = await verifyPresented(
      c,
      presented,
      { boundary: "v2auth_refresh", withAccess: true, service },
      "Invalid refresh token",
    );
    refreshToken = form.refresh_token;
  }
  const issued = await accessTokenFor(c, principal, service, requested);
  return c.json({ ...issued, ...(refreshToken ? { refresh_token: refreshToken } : {}) }, 200);
};

/** A read with no side effects: the CA is made at bootstrap. */
export const caBundle: RouteHandler<typeof caBundleRoute, AppEnv> = async (c) => {
  c.header("Content-Type", "application/x-pem-file");
  c.header("Cache-Control", "public, max-age=3600");
  return c.body(await tokenCaBundle(c.get("db")), 200);
};
