import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { webhookDeliveries, webhookEvents } from "../db/schema";

/*
 * The webhook outbox. An event is written in the same db.batch (one transaction) as the change
 * that caused it, so a change that fails writes no event and an event is never lost for a
 * change that happened. The cron delivers what is pending (webhooks/deliver.ts).
 */

/** Every event type an endpoint can receive. */
export const WEBHOOK_EVENT_TYPES = [
  "credential.expiring",
  "credential.expired",
  "credential.revoked",
  "credential.rotated",
  "credential.leaked",
  "signing_key.rotated",
  "service_key.pending_approval",
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookEvent {
  type: WebhookEventType;
  /** Ids, names, kinds, times — never a secret. */
  data: Record<string, unknown>;
}

/** Whether some endpoint receives `type` (an SQL condition on webhook_endpoints). */
const received = (type: string) => sql`EXISTS (SELECT 1 FROM json_each(e.events) j WHERE j.value = ${type})`;

/**
 * The outbox statements for one event, to put in the same db.batch as its change: the event,
 * and one pending delivery for each endpoint that receives its type. Nothing is written when no
 * endpoint does. With `condition`, nothing is written unless it holds when the statements run:
 * put them before the change, conditioned on the row it acts on (like auditInsertWhere), so a
 * request that loses a race writes no second event.
 */
export function eventInserts(db: Db, event: WebhookEvent, options: { condition?: SQL; at?: Date } = {}) {
  const id = crypto.randomUUID();
  const at = (options.at ?? new Date()).getTime();
  const wanted = sql`EXISTS (SELECT 1 FROM webhook_endpoints e WHERE ${received(event.type)})`;
  const condition = options.condition ? sql`${wanted} AND (${options.condition})` : wanted;
  // INSERT … SELECT through Drizzle's insert builder (a raw db.run cannot go in a D1 batch);
  // the selected values follow the tables' column order.
  return [
    db.insert(webhookEvents).select(sql`SELECT ${id}, ${event.type}, ${at}, ${JSON.stringify(event.data)} WHERE ${condition}`),
    db.insert(webhookDeliveries).select(
      sql`SELECT lower(hex(randomblob(16))), ${id}, e.id, 'pending', 0, ${at}, NULL, NULL, NULL, ${at}, NULL
          FROM webhook_endpoints e
          WHERE ${received(event.type)} AND EXISTS (SELECT 1 FROM webhook_events WHERE id = ${id})`,
    ),
  ] as const;
}
