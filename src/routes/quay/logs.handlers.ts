import type { RouteHandler } from "@hono/zod-openapi";
import { currentUser } from "../../auth/authenticate";
import type { AuditEntry } from "../../db/schema";
import type { AppEnv } from "../../env";
import { listAuditEntries } from "../../services/audit";
import type { listLogsRoute, listOwnLogsRoute } from "./logs.routes";

/** Quay's log shape (kind, datetime, ip, performer, metadata) with keyward's target and ids. */
export function logEntryView(entry: AuditEntry) {
  return {
    id: entry.id,
    kind: entry.kind,
    datetime: entry.at.toISOString(),
    ip: entry.ip,
    performer: entry.actorId
      ? { kind: "user" as const, name: entry.actorName }
      : { kind: "system" as const, name: entry.actorName },
    target: { type: entry.targetType, id: entry.targetId },
    metadata: entry.metadata,
    request_id: entry.requestId,
  };
}

async function logPage(c: Parameters<RouteHandler<typeof listLogsRoute, AppEnv>>[0], subjectUserId?: string) {
  const { limit, next_page } = c.req.valid("query");
  const page = await listAuditEntries(c.get("db"), {
    limit,
    before: next_page === undefined ? undefined : Number(next_page),
    subjectUserId,
  });
  return c.json(
    {
      logs: page.entries.map(logEntryView),
      ...(page.nextBefore !== null ? { next_page: String(page.nextBefore) } : {}),
    },
    200,
  );
}

export const list: RouteHandler<typeof listLogsRoute, AppEnv> = (c) => logPage(c);

export const listOwn: RouteHandler<typeof listOwnLogsRoute, AppEnv> = (c) => logPage(c, currentUser(c).user.id);
