import { createRouter } from "../../app";
import * as handlers from "./apikey.handlers";
import * as routes from "./apikey.routes";

/** zot's API-key extension; mounted at the seed path and at zot's current path. */
export function zotApiKeyRouter() {
  return createRouter()
    .openapi(routes.createApiKeyRoute, handlers.create)
    .openapi(routes.listApiKeysRoute, handlers.list)
    .openapi(routes.revokeApiKeyRoute, handlers.revoke);
}
