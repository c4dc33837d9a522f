import { createRouter } from "../../app";
import * as h from "./policy.handlers";
import * as routes from "./policy.routes";

/** The lifetime policy for API keys and registry tokens; superusers only. */
export function policyRouter() {
  return createRouter().openapi(routes.getPolicyRoute, h.get).openapi(routes.putPolicyRoute, h.put);
}
