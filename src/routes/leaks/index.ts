import { createRouter } from "../../app";
import * as h from "./leaks.handlers";
import * as routes from "./leaks.routes";

/** The public leak report and the secret patterns scanners use to find keyward secrets. */
export function leaksRouter() {
  return createRouter()
    .openapi(routes.reportLeakRoute, h.reportLeakHandler)
    .openapi(routes.secretPatternsRoute, h.secretPatternsHandler);
}
