import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { basicCredentials, basicPair, principalFromHeader, unauthorized, verifyCredentials } from "../../auth/authenticate";
import { authenticateRegistryToken } from "../../auth/registryToken";
import type { Principal } from "../../auth/principal";
import type { AppEnv } from "../../env";
import { badRequest } from "../../errors";
import {
  createRefreshToken,
  grantAccess,
  grantTokenAccess,
  issueRegistryToken,
  loadAccessContext,
  parseScopes,
  redeemRefreshToken,
  type IssuedToken,
} from "../../services/registryAuth";
import type { getTokenRoute, postTokenRoute } from "./v2auth.routes";

async function tokenFor(
  c: Context<AppEnv>,
  principal: Principal | null,
  service: string,
  scopes: string[],
): Promise<IssuedToken> {
  const requested = parseScopes(scopes);
  const db = c.get("db");
  const access = requested.length > 0 ? grantAccess(await loadAccessContext(db, principal), requested) : [];
  return issueRegistryToken(db, c.get("config"), { subject: principal?.user.username ?? "", service, access });
}

/** Basic `name:krt_…`: an IONOS-style registry token, for its own registry's service only. */
async function registryTokenGrant(c: Context<AppEnv>, name: string, secret: string, service: string, scopes: string[]) {
  const { token, creator } = await authenticateRegistryToken(c, name, secret, service);
  const access = grantTokenAccess(creator, token.scopes, parseScopes(scopes));
  return issueRegistryToken(c.get("db"), c.get("config"), { subject: token.name, service, access });
}

export const getToken: RouteHandler<typeof getTokenRoute, AppEnv> = async (c) => {
  const query = c.req.valid("query");
  // Parse scopes before any credential work: bad syntax is a 400 whoever asks.
  const scopes = query.scope === undefined ? [] : [query.scope].flat();
  parseScopes(scopes);
  const service = query.service ?? c.get("config").defaultService;
  const header = c.req.header("authorization");
  const pair = header ? basicPair(header) : null;
  if (pair?.password.startsWith("krt_")) {
    return c.json(await registryTokenGrant(c, pair.username, pair.password, service, scopes), 200);
  }
  // Credential, grants and public repositories in one D1 round trip.
  const principal = await principalFromHeader(c, true);
  if (principal && query.account && query.account !== principal.user.username) {
    throw unauthorized("account does not match the credentials");
  }
  const issued = await tokenFor(c, principal, service, scopes);
  if (principal && query.offline_token === "true") {
    issued.refresh_token = await createRefreshToken(c.get("db"), c.get("config"), principal.user, service, query.client_id ?? null);
  }
  return c.json(issued, 200);
};

export const postToken: RouteHandler<typeof postTokenRoute, AppEnv> = async (c) => {
  const form = c.req.valid("form");
  const scopes = form.scope ? [form.scope] : [];
  parseScopes(scopes);
  let principal: Principal;
  let refreshToken: string | undefined;
  if (form.grant_type === "password") {
    if (!form.username || !form.password) throw badRequest("username and password are required for grant_type=password");
    if (form.password.startsWith("krt_")) {
      return c.json(await registryTokenGrant(c, form.username, form.password, form.service, scopes), 200);
    }
    principal = await verifyCredentials(c, basicCredentials(form.username, form.password), true);
    if (form.access_type === "offline") {
      refreshToken = await createRefreshToken(c.get("db"), c.get("config"), principal.user, form.service, form.client_id ?? null);
    }
  } else {
    if (!form.refresh_token) throw badRequest("refresh_token is required for grant_type=refresh_token");
    principal = await redeemRefreshToken(c.get("db"), c.get("config"), form.refresh_token, form.service);
    refreshToken = form.refresh_token;
  }
  const issued = await tokenFor(c, principal, form.service, scopes);
  return c.json({ ...issued, ...(refreshToken ? { refresh_token: refreshToken } : {}) }, 200);
};
