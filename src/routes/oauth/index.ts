import { createRouter } from "../../app";
import * as h from "./oauth.handlers";
import * as routes from "./oauth.routes";

/** RFC 7662 introspection and RFC 7009 revocation; errors in OAuth's format (src/renderers.ts). */
export function oauthRouter() {
  return createRouter().openapi(routes.introspectRoute, h.introspectHandler).openapi(routes.revokeRoute, h.revokeHandler);
}
