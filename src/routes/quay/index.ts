import { createRouter } from "../../app";
import * as logs from "./logs.handlers";
import * as logRoutes from "./logs.routes";
import * as users from "./users.handlers";
import * as userRoutes from "./users.routes";

/** Quay API v1: user management, the caller, and the audit log. */
export function quayRouter() {
  return createRouter()
    .openapi(userRoutes.listUsersRoute, users.list)
    .openapi(userRoutes.createUserRoute, users.create)
    .openapi(userRoutes.getUserRoute, users.get)
    .openapi(userRoutes.updateUserRoute, users.update)
    .openapi(userRoutes.deleteUserRoute, users.remove)
    .openapi(userRoutes.currentUserRoute, users.me)
    .openapi(logRoutes.listLogsRoute, logs.list);
}
