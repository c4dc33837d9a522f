import { createRouter } from "../../app";
import * as handlers from "./keyserver.handlers";
import * as routes from "./keyserver.routes";

/** Quay's keyserver and keyward's JWKS: public reads, JWT-authenticated writes. */
export function keyserverRouter() {
  return createRouter()
    .openapi(routes.listServiceKeysRoute, handlers.jwks)
    .openapi(routes.getServiceKeyRoute, handlers.getKey)
    .openapi(routes.putServiceKeyRoute, handlers.putKeyHandler)
    .openapi(routes.deleteServiceKeyRoute, handlers.deleteKeyHandler)
    .openapi(routes.wellKnownJwksRoute, handlers.wellKnownJwks);
}
