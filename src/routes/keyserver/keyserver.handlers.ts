import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { actorOf } from "../../auth/request";
import type { AppEnv } from "../../env";
import { ApiError, notFound } from "../../errors";
import { deleteKey, putKey } from "../../services/keyserver";
import { findServiceKey, isKeyExpired, KEYWARD_SERVICE, listPublishedKeys, publishedJwk } from "../../services/serviceKeys";
import type {
  deleteServiceKeyRoute,
  getServiceKeyRoute,
  listServiceKeysRoute,
  putServiceKeyRoute,
  wellKnownJwksRoute,
} from "./keyserver.routes";

// Short, so a newly rotated key is picked up quickly by verifiers that cache the JWKS.
const JWKS_MAX_AGE = 60;
const MAX_KEY_AGE = 86_400;

const bearerToken = (authorization: string) => authorization.slice("Bearer ".length);

/** A read with no side effects: keyward's first signing key is made at bootstrap, later ones by cron. */
async function publishedJwks(c: Context<AppEnv>, service: string) {
  const keys = await listPublishedKeys(c.get("db"), service);
  c.header("Cache-Control", `public, max-age=${JWKS_MAX_AGE}`);
  return { keys: keys.map(publishedJwk) };
}

export const jwks: RouteHandler<typeof listServiceKeysRoute, AppEnv> = async (c) => {
  return c.json(await publishedJwks(c, c.req.valid("param").service), 200);
};

export const getKey: RouteHandler<typeof getServiceKeyRoute, AppEnv> = async (c) => {
  const { service, kid } = c.req.valid("param");
  const key = await findServiceKey(c.get("db"), kid);
  if (!key || key.service !== service) throw notFound(`No key ${kid} for service ${service}`);
  if (!key.approvedAt) throw new ApiError("conflict", "The key has not been approved");
  if (isKeyExpired(key)) throw new ApiError("forbidden", "The key has expired");
  const untilExpiry = key.expiresAt ? Math.floor((key.expiresAt.getTime() - Date.now()) / 1000) : MAX_KEY_AGE;
  c.header("Cache-Control", `public, max-age=${Math.max(0, Math.min(MAX_KEY_AGE, untilExpiry))}`);
  return c.json(publishedJwk(key), 200);
};

export const putKeyHandler: RouteHandler<typeof putServiceKeyRoute, AppEnv> = async (c) => {
  const { service, kid } = c.req.valid("param");
  const query = c.req.valid("query");
  const outcome = await putKey(c.get("db"), c.get("config"), actorOf(c), {
    service,
    kid,
    jwk: c.req.valid("json"),
    token: bearerToken(c.req.valid("header").authorization),
    expiration: query.expiration ? new Date(Number(query.expiration) * 1000) : null,
    rotationDurationSeconds: query.rotation ? Number(query.rotation) : null,
    ip: c.req.header("cf-connecting-ip") ?? null,
  });
  return c.body(null, outcome === "registered" ? 202 : 200);
};

export const deleteKeyHandler: RouteHandler<typeof deleteServiceKeyRoute, AppEnv> = async (c) => {
  const { service, kid } = c.req.valid("param");
  await deleteKey(c.get("db"), c.get("config"), actorOf(c), {
    service,
    kid,
    token: bearerToken(c.req.valid("header").authorization),
  });
  return c.body(null, 204);
};

export const wellKnownJwks: RouteHandler<typeof wellKnownJwksRoute, AppEnv> = async (c) => {
  return c.json(await publishedJwks(c, KEYWARD_SERVICE), 200);
};
