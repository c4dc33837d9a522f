import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../auth/request";
import type { AppEnv } from "../../env";
import {
  approveServiceKey,
  createServiceKey,
  deleteServiceKey,
  getServiceKey,
  listServiceKeys,
  serviceKeyView,
  updateServiceKey,
} from "../../services/serviceKeys";
import type {
  approveKeyRoute,
  createKeyRoute,
  deleteKeyRoute,
  getKeyRoute,
  listKeysRoute,
  updateKeyRoute,
} from "./serviceKeys.routes";

const fromUnix = (seconds: number | null | undefined) =>
  seconds === undefined ? undefined : seconds === null ? null : new Date(seconds * 1000);

export const list: RouteHandler<typeof listKeysRoute, AppEnv> = async (c) => {
  const keys = await listServiceKeys(c.get("db"));
  return c.json({ keys: keys.map(serviceKeyView) }, 200);
};

export const create: RouteHandler<typeof createKeyRoute, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  const { key, publicPem, privatePem } = await createServiceKey(c.get("db"), c.get("config"), actorOf(c), {
    service: body.service,
    expiration: fromUnix(body.expiration)!,
    name: body.name,
    metadata: body.metadata,
    notes: body.notes,
    algorithm: body.algorithm,
  });
  return c.json({ kid: key.kid, name: key.name, service: key.service, public_key: publicPem, private_key: privatePem }, 200);
};

export const get: RouteHandler<typeof getKeyRoute, AppEnv> = async (c) => {
  return c.json(serviceKeyView(await getServiceKey(c.get("db"), c.req.valid("param").kid)), 200);
};

export const update: RouteHandler<typeof updateKeyRoute, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  const key = await updateServiceKey(c.get("db"), c.get("config"), actorOf(c), c.req.valid("param").kid, {
    name: body.name,
    metadata: body.metadata,
    expiration: fromUnix(body.expiration),
  });
  return c.json(serviceKeyView(key), 200);
};

export const remove: RouteHandler<typeof deleteKeyRoute, AppEnv> = async (c) => {
  await deleteServiceKey(c.get("db"), c.get("config"), actorOf(c), c.req.valid("param").kid);
  return c.body(null, 204);
};

export const approve: RouteHandler<typeof approveKeyRoute, AppEnv> = async (c) => {
  const body = c.req.valid("json") as { notes?: string } | undefined;
  await approveServiceKey(c.get("db"), c.get("config"), actorOf(c), c.req.valid("param").kid, body?.notes ?? "");
  return c.body(null, 201);
};
