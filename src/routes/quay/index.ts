import { createRouter } from "../../app";
import * as logs from "./logs.handlers";
import * as logRoutes from "./logs.routes";
import * as keys from "./serviceKeys.handlers";
import * as keyRoutes from "./serviceKeys.routes";
import * as users from "./users.handlers";
import * as userRoutes from "./users.routes";

/** Quay API v1: user management, the caller, the audit log and service keys. */
export function quayRouter() {
  return createRouter()
    .openapi(userRoutes.listUsersRoute, users.list)
    .openapi(userRoutes.createUserRoute, users.create)
    .openapi(userRoutes.getUserRoute, users.get)
    .openapi(userRoutes.updateUserRoute, users.update)
    .openapi(userRoutes.deleteUserRoute, users.remove)
    .openapi(userRoutes.currentUserRoute, users.me)
    .openapi(userRoutes.changePasswordRoute, users.changePassword)
    .openapi(logRoutes.listLogsRoute, logs.list)
    .openapi(logRoutes.listOwnLogsRoute, logs.listOwn)
    .openapi(keyRoutes.listKeysRoute, keys.list)
    .openapi(keyRoutes.createKeyRoute, keys.create)
    .openapi(keyRoutes.getKeyRoute, keys.get)
    .openapi(keyRoutes.updateKeyRoute, keys.update)
    .openapi(keyRoutes.deleteKeyRoute, keys.remove)
    .openapi(keyRoutes.approveKeyRoute, keys.approve);
}
