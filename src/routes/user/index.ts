import { createRouter } from "../../app";
import * as h from "./apikeys.handlers";
import * as routes from "./apikeys.routes";

/** The caller's own API keys of every kind (zot, built-in, extra): keyward's native REST. */
export function userApiKeysRouter() {
  return createRouter()
    .openapi(routes.listRoute, h.list)
    .openapi(routes.createExtraKeyRoute, h.create)
    .openapi(routes.resetBuiltinRoute, h.resetBuiltin)
    .openapi(routes.revokeRoute, h.revoke)
    .openapi(routes.rotateRoute, h.rotate)
    .openapi(routes.endDeprecatedRoute, h.endDeprecated);
}
