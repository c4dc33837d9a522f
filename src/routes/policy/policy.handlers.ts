import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../auth/request";
import type { AppEnv } from "../../env";
import { readPolicy, savePolicy, violationReport } from "../../services/policy";
import type { getPolicyRoute, putPolicyRoute } from "./policy.routes";

export const get: RouteHandler<typeof getPolicyRoute, AppEnv> = async (c) => c.json(await readPolicy(c.get("db")), 200);

export const put: RouteHandler<typeof putPolicyRoute, AppEnv> = async (c) => {
  const policy = c.req.valid("json");
  const dryRun = c.req.valid("query").dryRun === "true";
  const db = c.get("db");
  const report = dryRun ? await violationReport(db, policy) : await savePolicy(db, actorOf(c), policy);
  return c.json({ ...report, dryRun }, 200);
};
