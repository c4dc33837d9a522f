import { and, desc, eq, sql } from "drizzle-orm";
import type { Config } from "../config";
import { open, seal } from "../crypto/envelope";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { type WebhookDelivery, type WebhookEndpoint, webhookDeliveries, webhookEndpoints, webhookEvents } from "../db/schema";
import { notFound } from "../errors";
import { type Actor, auditInsert, auditInsertWhere } from "../services/audit";
import type { WebhookEventType } from "./outbox";
import { newWebhookSecret } from "./signature";

/*
 * Webhook endpoints, managed by superusers. The signing secret is the one secret keyward must
 * use itself, so it cannot be hashed: it is sealed with the key-encryption key (like private
 * keys), bound to its row by the context "webhook:<id>", and shown once.
 */

const secretContext = (id: string) => `webhook:${id}`;

export interface EndpointView {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  createdAt: string;
  createdBy: string;
}

export const endpointView = (e: WebhookEndpoint): EndpointView => ({
  id: e.id,
  url: e.url,
  events: e.events,
  description: e.description,
  createdAt: e.createdAt.toISOString(),
  createdBy: e.createdBy,
});

export async function createWebhookEndpoint(
  db: Db,
  config: Config,
  actor: Actor,
  input: { url: string; events: WebhookEventType[]; description?: string | null },
): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  const id = crypto.randomUUID();
  const secret = newWebhookSecret();
  const endpoint: WebhookEndpoint = {
    id,
    url: input.url,
    events: input.events,
    description: input.description ?? null,
    secretEnc: await seal(config.kek, new TextEncoder().encode(secret), secretContext(id)),
    createdAt: new Date(),
    createdBy: actor.name ?? "keyward",
  };
  await batchNamed(db, {
    endpoint: db.insert(webhookEndpoints).values(endpoint),
    audit: auditInsert(
      db,
      actor,
      { kind: "webhook.create", targetType: "webhook", targetId: id, metadata: { url: input.url, events: input.events } },
      endpoint.createdAt,
    ),
  });
  return { endpoint, secret };
}

export function listWebhookEndpoints(db: Db): Promise<WebhookEndpoint[]> {
  return db.select().from(webhookEndpoints).orderBy(webhookEndpoints.createdAt);
}

export async function getWebhookEndpoint(db: Db, id: string): Promise<WebhookEndpoint> {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  if (!row) throw notFound("No such webhook endpoint");
  return row;
}

/** The endpoint, its deliveries (pending ones included) and its audit entry, in one batch. */
export async function deleteWebhookEndpoint(db: Db, actor: Actor, id: string): Promise<void> {
  const exists = sql`EXISTS (SELECT 1 FROM ${webhookEndpoints} WHERE ${webhookEndpoints.id} = ${id})`;
  const { endpoint } = await batchNamed(db, {
    audit: auditInsertWhere(db, actor, { kind: "webhook.delete", targetType: "webhook", targetId: id }, exists),
    deliveries: db.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id)),
    endpoint: db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id }),
  });
  if (endpoint.length === 0) throw notFound("No such webhook endpoint");
}

/** The signing secret, for the delivery job. Throws if the envelope does not open. */
export async function webhookSecret(config: Config, endpoint: Pick<WebhookEndpoint, "id" | "secretEnc">): Promise<string> {
  return new TextDecoder().decode(await open(config.kek, endpoint.secretEnc, secretContext(endpoint.id)));
}

export interface DeliveryView {
  id: string;
  eventId: string;
  type: string;
  status: WebhookDelivery["status"];
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  responseStatus: number | null;
  error: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** An endpoint's deliveries, newest first, at most `limit` (webhook_deliveries_endpoint). */
export async function listWebhookDeliveries(db: Db, endpointId: string, limit: number): Promise<DeliveryView[]> {
  await getWebhookEndpoint(db, endpointId);
  const rows = await db
    .select({ delivery: webhookDeliveries, type: webhookEvents.type })
    .from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(eq(webhookDeliveries.endpointId, endpointId)))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit);
  return rows.map(({ delivery: d, type }) => deliveryView(d, type));
}

const deliveryView = (d: WebhookDelivery, type: string): DeliveryView => ({
  id: d.id,
  eventId: d.eventId,
  type,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === "pending" ? d.nextAttemptAt.toISOString() : null,
  lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
  responseStatus: d.responseStatus,
  error: d.error,
  createdAt: d.createdAt.toISOString(),
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
});
