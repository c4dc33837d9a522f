import { createRouter } from "../../app";
import * as permissions from "./permissions.handlers";
import * as routes from "./permissions.routes";

/** keyward's own repository-permissions API (grants and public repositories); superusers only. */
export function permissionsRouter() {
  return createRouter()
    .openapi(routes.listGrantsRoute, permissions.list)
    .openapi(routes.setGrantRoute, permissions.set)
    .openapi(routes.removeGrantRoute, permissions.remove)
    .openapi(routes.listPublicRoute, permissions.listPublic)
    .openapi(routes.makePublicRoute, permissions.makePublic)
    .openapi(routes.makePrivateRoute, permissions.makePrivate);
}
