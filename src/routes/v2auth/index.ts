import { createRouter } from "../../app";
import * as handlers from "./v2auth.handlers";
import * as routes from "./v2auth.routes";

/** `/v2/auth`; its errors are rendered in Docker's format by the root (src/renderers.ts). */
export function v2AuthRouter() {
  return createRouter()
    .openapi(routes.getTokenRoute, handlers.getToken)
    .openapi(routes.postTokenRoute, handlers.postToken)
    .openapi(routes.caBundleRoute, handlers.caBundle);
}
