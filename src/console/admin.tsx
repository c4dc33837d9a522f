import type { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { isNarrowed } from "../domain/access";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { auditPages } from "./admin/audit";
import { registryPages } from "./admin/registries";
import { serviceKeyPages } from "./admin/serviceKeys";
import { signingKeyPages } from "./admin/signingKeys";
import { userPages } from "./admin/users";
import { signedIn } from "./context";

/**
 * Every admin page is for superusers only (checked on each request against the session's
 * user as stored now): anyone else gets the console's 403 page.
 */
const requireSuperuserPage = createMiddleware<AppEnv>(async (c, next) => {
  const principal = signedIn(c);
  if (!principal.user.superuser || isNarrowed(principal)) {
    throw new ApiError("forbidden", "These pages are for superusers only.");
  }
  await next();
});

/** The superuser pages (users, service keys, registries, signing keys, audit log). */
export function adminPages(app: Hono<AppEnv>) {
  app.use("/admin", requireSuperuserPage);
  app.use("/admin/*", requireSuperuserPage);
  app.get("/admin", (c) => c.redirect("/console/admin/users", 303));
  userPages(app);
  serviceKeyPages(app);
  registryPages(app);
  signingKeyPages(app);
  auditPages(app);
}
