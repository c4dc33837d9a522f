import type { RouteHandler } from "@hono/zod-openapi";
import { currentUser } from "../../auth/authenticate";
import { actorOf } from "../../auth/request";
import { listRefreshTokens, refreshTokenView, revokeRefreshToken } from "../../credentials/refreshTokens";
import type { KeyAlgorithm } from "../../crypto/keys";
import type { AppEnv } from "../../env";
import { listSigningKeys, rotateSigningKeyNow } from "../../services/signingKeys";
import type * as routes from "./credentials.routes";

export const listRefreshTokensHandler: RouteHandler<typeof routes.listRefreshTokensRoute, AppEnv> = async (c) => {
  const tokens = await listRefreshTokens(c.get("db"), currentUser(c).user.id);
  return c.json({ refreshTokens: tokens.map(refreshTokenView) }, 200);
};

export const revokeRefreshTokenHandler: RouteHandler<typeof routes.revokeRefreshTokenRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  await revokeRefreshToken(c.get("db"), actorOf(c), user.id, c.req.valid("param").id, lineage);
  return c.body(null, 204);
};

export const listSigningKeysHandler: RouteHandler<typeof routes.listSigningKeysRoute, AppEnv> = async (c) => {
  const keys = await listSigningKeys(c.get("db"));
  return c.json(
    {
      keys: keys.map(({ key, state }) => ({
        kid: key.kid,
        algorithm: key.alg as KeyAlgorithm,
        state,
        createdAt: key.createdAt.toISOString(),
        expiresAt: key.expiresAt?.toISOString() ?? null,
        certificate: key.certificate,
      })),
    },
    200,
  );
};

export const rotateSigningKeyHandler: RouteHandler<typeof routes.rotateSigningKeyRoute, AppEnv> = async (c) => {
  // The body is optional: no body (or {}) rotates with KEYWARD_SIGNING_ALG.
  const hasBody = Number(c.req.header("content-length") ?? "0") > 0 || c.req.header("transfer-encoding");
  const body = hasBody ? c.req.valid("json") : {};
  const key = await rotateSigningKeyNow(c.get("db"), c.get("config"), actorOf(c), body?.algorithm);
  return c.json({ kid: key.kid, algorithm: key.alg as KeyAlgorithm, certificate: key.certificate! }, 200);
};
