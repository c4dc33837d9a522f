import { createRouter, toApiError } from "../../app";
import type { ErrorCode } from "../../errors";
import * as handlers from "./v2auth.handlers";
import * as routes from "./v2auth.routes";

// Docker's error vocabulary for the token endpoint.
const DOCKER_CODES: Partial<Record<ErrorCode, string>> = {
  unauthorized: "UNAUTHORIZED",
  forbidden: "DENIED",
  rate_limited: "TOOMANYREQUESTS",
  misconfigured: "UNAVAILABLE",
  internal: "UNKNOWN",
};

/** `/v2/auth`: errors in the Docker registry format `{errors: [{code, message}]}`. */
export function v2AuthRouter() {
  const router = createRouter()
    .openapi(routes.getTokenRoute, handlers.getToken)
    .openapi(routes.postTokenRoute, handlers.postToken);
  router.onError((err, c) => {
    const error = toApiError(err);
    const code = DOCKER_CODES[error.code] ?? "INVALID_REQUEST";
    return c.json({ errors: [{ code, message: error.message }] }, error.status, error.headers);
  });
  return router;
}
