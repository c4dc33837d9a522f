import { createRoute, z } from "@hono/zod-openapi";
import { createRouter, HEALTH_PATHS } from "../app";
import { jsonResponse } from "./common";

const Status = z.object({ status: z.literal("ok") });

const healthRoute = createRoute({
  method: "get",
  path: HEALTH_PATHS.live,
  tags: ["Operations"],
  summary: "Liveness: answers without touching the configuration or the database",
  responses: { 200: jsonResponse(Status, "keyward is up") },
});

const readyRoute = createRoute({
  method: "get",
  path: HEALTH_PATHS.ready,
  tags: ["Operations"],
  summary: "Readiness: one trivial D1 read, and no configuration work",
  responses: { 200: jsonResponse(Status, "keyward and its database answer") },
});

export function healthRouter() {
  return createRouter()
    .openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(readyRoute, async (c) => {
      await c.env.DB.prepare("SELECT 1").first();
      return c.json({ status: "ok" as const }, 200);
    });
}
