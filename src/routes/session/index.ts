import { createRouter } from "../../app";
import * as h from "./session.handlers";
import * as routes from "./session.routes";

/** Quay's session flow: /csrf_token, sign-in, verify, sign-out; and the caller's sessions. */
export function sessionRouter() {
  return createRouter()
    .openapi(routes.csrfTokenRoute, h.csrfToken)
    .openapi(routes.signinRoute, h.signin)
    .openapi(routes.verifyRoute, h.verify)
    .openapi(routes.signoutRoute, h.signout)
    .openapi(routes.listSessionsRoute, h.list)
    .openapi(routes.revokeSessionRoute, h.revoke);
}
