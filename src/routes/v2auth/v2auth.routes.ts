import { createRoute, z } from "@hono/zod-openapi";
import { jsonResponse, PrintableText } from "../common";

const tags = ["Registry token endpoint"];

const Service = z.string().regex(/^[A-Za-z0-9.:_-]{1,253}$/, "must be a registry service name");
const Scope = z.union([z.string().max(4096), z.array(z.string().max(4096)).max(50)]);

const TokenResponse = z
  .object({
    token: z.string(),
    access_token: z.string(),
    expires_in: z.number().int(),
    issued_at: z.string(),
    refresh_token: z.string().optional(),
  })
  .openapi("RegistryToken");

const DockerErrors = z.object({ errors: z.array(z.object({ code: z.string(), message: z.string() })) }).openapi("DockerErrors");
const errors = {
  400: jsonResponse(DockerErrors, "Bad request (e.g. scope syntax)"),
  401: jsonResponse(DockerErrors, "Bad credentials"),
  429: jsonResponse(DockerErrors, "Too many failed attempts"),
};

export const getTokenRoute = createRoute({
  method: "get",
  path: "/v2/auth",
  tags,
  summary: "Docker Registry v2 token (Basic password, Basic user:API key, or anonymous)",
  security: [{ basicAuth: [] }, {}] as Record<string, string[]>[],
  request: {
    query: z.object({
      service: Service.optional(),
      scope: Scope.optional(),
      account: z.string().max(255).optional(),
      offline_token: z.enum(["true", "false"]).optional(),
      client_id: PrintableText.pipe(z.string().max(255)).optional(),
    }),
  },
  responses: { 200: jsonResponse(TokenResponse, "A signed JWT"), ...errors },
});

export const postTokenRoute = createRoute({
  method: "post",
  path: "/v2/auth",
  tags,
  summary: "OAuth2 token request as containerd/buildkit send it",
  request: {
    body: {
      required: true,
      content: {
        "application/x-www-form-urlencoded": {
          schema: z.object({
            grant_type: z.enum(["password", "refresh_token"]),
            service: Service,
            scope: Scope.optional(),
            client_id: PrintableText.pipe(z.string().max(255)).optional(),
            access_type: z.enum(["online", "offline"]).optional(),
            username: z.string().max(255).optional(),
            password: z.string().max(1024).optional(),
            refresh_token: z.string().max(255).optional(),
          }),
        },
      },
    },
  },
  responses: { 200: jsonResponse(TokenResponse, "A signed JWT"), ...errors },
});

export const caBundleRoute = createRoute({
  method: "get",
  path: "/v2/auth/certs.pem",
  tags,
  summary: "The token CA certificate(s): a registry's auth.token.rootcertbundle",
  responses: { 200: { description: "PEM bundle", content: { "application/x-pem-file": { schema: z.string() } } } },
});
