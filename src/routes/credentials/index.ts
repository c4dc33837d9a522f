import { createRouter } from "../../app";
import * as h from "./credentials.handlers";
import * as routes from "./credentials.routes";

/** keyward's own credential management: the caller's refresh tokens, keyward's signing keys. */
export function credentialsRouter() {
  return createRouter()
    .openapi(routes.listRefreshTokensRoute, h.listRefreshTokensHandler)
    .openapi(routes.revokeRefreshTokenRoute, h.revokeRefreshTokenHandler)
    .openapi(routes.listSigningKeysRoute, h.listSigningKeysHandler)
    .openapi(routes.rotateSigningKeyRoute, h.rotateSigningKeyHandler);
}
