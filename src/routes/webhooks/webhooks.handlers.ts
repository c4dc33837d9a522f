import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../auth/request";
import type { AppEnv } from "../../env";
import { ValidationError } from "../../errors";
import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  endpointView,
  getWebhookEndpoint,
  listWebhookDeliveries,
  listWebhookEndpoints,
} from "../../webhooks/endpoints";
import {
  type createWebhookRoute,
  type deleteWebhookRoute,
  type getWebhookRoute,
  isLoopbackHttp,
  type listDeliveriesRoute,
  type listWebhooksRoute,
} from "./webhooks.routes";

export const list: RouteHandler<typeof listWebhooksRoute, AppEnv> = async (c) => {
  const rows = await listWebhookEndpoints(c.get("db"));
  return c.json({ webhooks: rows.map(endpointView) }, 200);
};

export const create: RouteHandler<typeof createWebhookRoute, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  const config = c.get("config");
  if (config.environment === "production" && isLoopbackHttp(body.url)) {
    throw new ValidationError(
      [{ path: "url", message: "must be an https URL in production" }],
      "url: must be an https URL in production",
    );
  }
  const { endpoint, secret } = await createWebhookEndpoint(c.get("db"), config, actorOf(c), body);
  return c.json({ ...endpointView(endpoint), secret }, 201);
};

export const get: RouteHandler<typeof getWebhookRoute, AppEnv> = async (c) => {
  return c.json(endpointView(await getWebhookEndpoint(c.get("db"), c.req.valid("param").id)), 200);
};

export const remove: RouteHandler<typeof deleteWebhookRoute, AppEnv> = async (c) => {
  await deleteWebhookEndpoint(c.get("db"), actorOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};

export const deliveries: RouteHandler<typeof listDeliveriesRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  return c.json({ deliveries: await listWebhookDeliveries(c.get("db"), id, c.req.valid("query").limit) }, 200);
};
