import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireSuperuser, requireUnnarrowed, requireUser } from "../../auth/authenticate";
import { basicOrBearer, jsonResponse, standardErrors } from "../common";

export const LogEntry = z
  .object({
    id: z.number().int(),
    kind: z.string(),
    datetime: z.string(),
    ip: z.string().nullable(),
    performer: z.object({ kind: z.enum(["user", "system"]), name: z.string().nullable() }).nullable(),
    target: z.object({ type: z.string().nullable(), id: z.string().nullable() }),
    metadata: z.record(z.string(), z.unknown()),
    request_id: z.string().nullable(),
  })
  .openapi("LogEntry");

const LogQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(100),
    next_page: z
      .string()
      .regex(/^[1-9][0-9]{0,15}$/, "must be the next_page value of a previous response")
      .optional(),
  })
  .strict();

const LogPage = jsonResponse(
  z.object({ logs: z.array(LogEntry), next_page: z.string().optional() }),
  "One page of entries; pass next_page to get the next",
);

export const listLogsRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/logs",
  tags: ["Audit log"],
  summary: "The audit log, newest first",
  security: basicOrBearer,
  middleware: [authenticate, requireSuperuser],
  request: { query: LogQuery },
  responses: { 200: LogPage, ...standardErrors },
});

export const listOwnLogsRoute = createRoute({
  method: "get",
  path: "/api/v1/user/logs",
  tags: ["Audit log"],
  summary: "The caller's own audit log (entries about their account and credentials), newest first",
  description: "A key narrowed by scopes or an expiry cannot read it.",
  security: basicOrBearer,
  middleware: [authenticate, requireUser, requireUnnarrowed],
  request: { query: LogQuery },
  responses: { 200: LogPage, ...standardErrors },
});
