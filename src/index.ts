import { createApp } from "./app";
import { browserRoot, consoleRouter } from "./console";
import type { Env } from "./env";
import { runScheduled } from "./jobs";
import { credentialsRouter } from "./routes/credentials";
import { healthRouter } from "./routes/health";
import { ionosRouter } from "./routes/ionos";
import { kallitheaRouter } from "./routes/kallithea";
import { keyserverRouter } from "./routes/keyserver";
import { leaksRouter } from "./routes/leaks";
import { oauthRouter } from "./routes/oauth";
import { openApiDocument } from "./routes/openapi";
import { permissionsRouter } from "./routes/permissions";
import { policyRouter } from "./routes/policy";
import { quayRouter } from "./routes/quay";
import { sessionRouter } from "./routes/session";
import { userApiKeysRouter } from "./routes/user";
import { v2AuthRouter } from "./routes/v2auth";
import { webhooksRouter } from "./routes/webhooks";
import { zotApiKeyRouter } from "./routes/zot";

const app = createApp()
  .route("/v2/_zot/ext/apikey", zotApiKeyRouter())
  .route("/zot/auth/apikey", zotApiKeyRouter())
  .route("/", quayRouter())
  .route("/", permissionsRouter())
  .route("/", policyRouter())
  .route("/", credentialsRouter())
  .route("/", healthRouter())
  .route("/", keyserverRouter())
  .route("/", v2AuthRouter())
  .route("/", ionosRouter())
  .route("/", kallitheaRouter())
  .route("/", userApiKeysRouter())
  .route("/", sessionRouter())
  .route("/", oauthRouter())
  .route("/", leaksRouter())
  .route("/", webhooksRouter())
  .route("/console", consoleRouter())
  .route("/", browserRoot());

openApiDocument(app);

export default {
  fetch: app.fetch,
  async scheduled(controller, env) {
    await runScheduled(controller, env);
  },
} satisfies ExportedHandler<Env>;
