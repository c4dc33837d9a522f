import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireSuperuser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/outbox";
import { basicOrBearer, jsonBody, jsonResponse, keyApiBodyLimit, notFoundError, PrintableText, standardErrors } from "../common";

const tags = ["Webhooks"];
const superuserOnly = [authenticate, requireSuperuser];

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);

/**
 * Where deliveries go: an absolute https URL without credentials (they would be stored and
 * listed in clear). Plain http only to loopback, and only outside production (the service
 * refuses it there: which environment this is, a schema cannot know).
 */
const parsed = (u: string): URL | null => {
  try {
    return new URL(u);
  } catch {
    return null;
  }
};

export const WebhookUrl = z
  .string()
  .max(2048)
  .superRefine((u, ctx) => {
    const url = parsed(u);
    const problem = !url
      ? "must be an absolute URL"
      : url.protocol !== "https:" && url.protocol !== "http:"
        ? "must be an https URL"
        : url.protocol === "http:" && !LOOPBACK.has(url.hostname)
          ? "must be https (plain http only to 127.0.0.1, ::1 or localhost, outside production)"
          : url.username || url.password
            ? "must not hold credentials"
            : null;
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .openapi({ example: "https://hooks.example.com/keyward" });

export const isLoopbackHttp = (u: string) => new URL(u).protocol === "http:";

export const CreateWebhookBody = z
  .object({
    url: WebhookUrl,
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES))
      .min(1, "must name at least one event")
      .refine((e) => new Set(e).size === e.length, "must not repeat an event"),
    description: PrintableText.pipe(z.string().max(200)).nullish(),
  })
  .strict()
  .openapi("CreateWebhook");

const WebhookView = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    description: z.string().nullable(),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .openapi("Webhook");

const DeliveryView = z
  .object({
    id: z.string(),
    eventId: z.string(),
    type: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number(),
    nextAttemptAt: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    responseStatus: z.number().nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

const IdParam = z.object({
  id: z.uuid({ error: "must be a webhook id (a UUID)" }).openapi({ param: { name: "id", in: "path" } }),
});

export const listWebhooksRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/webhooks",
  tags,
  summary: "List webhook endpoints (never their secrets)",
  security: basicOrBearer,
  middleware: superuserOnly,
  responses: { 200: jsonResponse(z.object({ webhooks: z.array(WebhookView) }), "Every endpoint"), ...standardErrors },
});

export const createWebhookRoute = createRoute({
  method: "post",
  path: "/api/v1/superuser/webhooks",
  tags,
  summary: "Create a webhook endpoint; its signing secret is returned once",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: { body: jsonBody(CreateWebhookBody) },
  responses: {
    201: jsonResponse(
      WebhookView.extend({ secret: z.string().openapi({ description: "whsec_…: shown once, not retrievable" }) }),
      "The endpoint and its signing secret",
    ),
    ...standardErrors,
  },
});

export const getWebhookRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/webhooks/{id}",
  tags,
  summary: "Get a webhook endpoint",
  security: basicOrBearer,
  middleware: superuserOnly,
  request: { params: IdParam },
  responses: { 200: jsonResponse(WebhookView, "The endpoint"), ...standardErrors, ...notFoundError },
});

export const deleteWebhookRoute = createRoute({
  method: "delete",
  path: "/api/v1/superuser/webhooks/{id}",
  tags,
  summary: "Delete a webhook endpoint and its deliveries (pending ones are not sent)",
  security: basicOrBearer,
  middleware: [...superuserOnly, requireFreshLogin],
  request: { params: IdParam },
  responses: { 204: { description: "Deleted" }, ...standardErrors, ...notFoundError },
});

export const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/webhooks/{id}/deliveries",
  tags,
  summary: "An endpoint's deliveries, newest first",
  security: basicOrBearer,
  middleware: superuserOnly,
  request: {
    params: IdParam,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }).strict(),
  },
  responses: {
    200: jsonResponse(z.object({ deliveries: z.array(DeliveryView) }), "Deliveries"),
    ...standardErrors,
    ...notFoundError,
  },
});
