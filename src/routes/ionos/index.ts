import { createRouter, toApiError } from "../../app";
import * as h from "./ionos.handlers";
import * as routes from "./ionos.routes";

/** IONOS Container Registry-compatible registries and tokens, with IONOS's error body. */
export function ionosRouter() {
  const router = createRouter()
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
    .openapi(routes.deleteTokenRoute, h.deleteTokenHandler);
  router.onError((err, c) => {
    const error = toApiError(err);
    return c.json(
      { httpStatus: error.status, messages: [{ errorCode: error.code.toUpperCase(), message: error.message }] },
      error.status,
      error.headers,
    );
  });
  return router;
}
