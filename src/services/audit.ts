import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { insertWhere } from "../db/conditional";
import { type AuditEntry, auditLog } from "../db/schema";

import type { Actor } from "../domain/access";

export type { Actor };

export const SYSTEM_ACTOR: Actor = { id: null, name: "keyward", ip: null, requestId: null };

export interface AuditEvent {
  kind: string;
  subjectUserId?: string | null;
  targetType?: string;
  targetId?: string;
  /** Never a secret: ids, labels, counts. */
  metadata?: Record<string, unknown>;
}

/** The insert statement for one audit entry, to put in the same db.batch as the change. */
export function auditInsert(db: Db, actor: Actor, event: AuditEvent, at = new Date()) {
  return db.insert(auditLog).values(auditRow(actor, event, at));
}

function auditRow(actor: Actor, event: AuditEvent, at: Date): typeof auditLog.$inferInsert {
  return {
    at,
    kind: event.kind,
    actorId: actor.id,
    actorName: actor.name,
    subjectUserId: event.subjectUserId ?? null,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    ip: actor.ip,
    requestId: actor.requestId,
    metadata: { ...(event.metadata ?? {}), ...(actor.credential ? { via: actor.credential } : {}) },
  };
}

/**
 * Newest first, keyset-paginated by id (stable under concurrent inserts); optionally only one
 * user's entries (audit_log_subject) or one kind (audit_log_kind).
 */
export async function listAuditEntries(
  db: Db,
  options: { limit: number; before?: number; subjectUserId?: string; kind?: string },
): Promise<{ entries: AuditEntry[]; nextBefore: number | null }> {
  const conditions = [];
  if (options.before !== undefined) conditions.push(lt(auditLog.id, options.before));
  if (options.subjectUserId) conditions.push(eq(auditLog.subjectUserId, options.subjectUserId));
  if (options.kind) conditions.push(eq(auditLog.kind, options.kind));
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(options.limit + 1);
  const entries = rows.slice(0, options.limit);
  return { entries, nextBefore: rows.length > options.limit ? entries.at(-1)!.id : null };
}

/**
 * An audit entry written only if `condition` holds when it runs: put it before the change in
 * the same db.batch, conditioned on the row the change acts on, so concurrent requests that
 * lose the race (the row is already gone) leave no second entry.
 */
export function auditInsertWhere(db: Db, actor: Actor, event: AuditEvent, condition: SQL, at = new Date()) {
  return insertWhere(db, auditLog, auditRow(actor, event, at), condition);
}
