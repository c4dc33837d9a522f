import type { App } from "../app";
import { docsRouter } from "./docs";

/** Serves /openapi.json, generated from the same zod schemas that validate input. */
export function openApiDocument(app: App) {
  app.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", {
    type: "http",
    scheme: "basic",
    description: "username:password, or username:zak_… (an API key)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An API key (zak_…)",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "serviceJwt", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description:
      "A JWT with iss = the service and aud = keyward's audience, signed by the key (or an approved key of the service)",
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "keyward",
      version: "0.1.0",
      description: "Credential service for container registries and HTTP APIs",
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.route("/", docsRouter());
}
