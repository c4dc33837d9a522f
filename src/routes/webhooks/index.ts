import { createRouter } from "../../app";
import * as h from "./webhooks.handlers";
import * as routes from "./webhooks.routes";

/** Signed webhooks: superusers manage the endpoints; the cron delivers (jobs/deliverWebhooks.ts). */
export function webhooksRouter() {
  return createRouter()
    .openapi(routes.listWebhooksRoute, h.list)
    .openapi(routes.createWebhookRoute, h.create)
    .openapi(routes.getWebhookRoute, h.get)
    .openapi(routes.deleteWebhookRoute, h.remove)
    .openapi(routes.listDeliveriesRoute, h.deliveries);
}
