import { createRouter } from "../../app";
import * as h from "./ionos.handlers";
import * as routes from "./ionos.routes";

/**
 * IONOS Container Registry-compatible registries and tokens; their errors are rendered in
 * IONOS's format by the root (src/renderers.ts).
 */
export function ionosRouter() {
  return createRouter()
    .openapi(routes.listRegistriesRoute, h.listRegistriesHandler)
    .openapi(routes.createRegistryRoute, h.createRegistryHandler)
    .openapi(routes.getRegistryRoute, h.getRegistryHandler)
    .openapi(routes.patchRegistryRoute, h.patchRegistryHandler)
    .openapi(routes.deleteRegistryRoute, h.deleteRegistryHandler)
    .openapi(routes.listTokensRoute, h.listTokensHandler)
    .openapi(routes.createTokenRoute, h.createTokenHandler)
    .openapi(routes.getTokenRoute, h.getTokenHandler)
    .openapi(routes.putTokenRoute, h.putTokenHandler)
    .openapi(routes.patchTokenRoute, h.patchTokenHandler)
    .openapi(routes.deleteTokenRoute, h.deleteTokenHandler)
    .openapi(routes.rotateTokenRoute, h.rotateTokenHandler)
    .openapi(routes.endDeprecatedRoute, h.endDeprecatedHandler);
}
