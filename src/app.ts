import { OpenAPIHono, type RouteConfig, type z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigError, loadConfig } from "./config";
import { invalidateVerifyCache } from "./credentials/verifyCache";
import { createDb } from "./db/client";
import type { AppEnv } from "./env";
import { ApiError, type ErrorCode, safeErrorText, ValidationError } from "./errors";
import { limitBody } from "./http/bodyLimit";
import { renderError } from "./renderers";
import { bootstrap } from "./services/bootstrap";

/** Every body keyward accepts is small; key APIs cap lower (8 KiB) on their own routes. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Liveness and readiness answer before any config or bootstrap work: a deployment with a bad
 * secret is alive (it answers 503 everywhere else), and /readyz asks D1 only.
 */
export const HEALTH_PATHS = { live: "/healthz", ready: "/readyz" } as const;
const HEALTH = new Set<string>(Object.values(HEALTH_PATHS));

/** Turns a zod failure into one readable sentence plus the per-field list. */
export function describeZodError(error: z.ZodError): { message: string; fields: { path: string; message: string }[] } {
  const fields = error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  const message = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
  return { message: `Invalid request: ${message}`, fields };
}

/** The body media types of the route a request matched, so its 415 can name them. */
const bodyMediaTypes = new WeakMap<Context, readonly string[]>();

/**
 * zod-openapi refuses a body of another media type with a bare "Unsupported Media Type". A
 * first route middleware notes what the route declares; zod-openapi still decides.
 */
function noteBodyMediaTypes<R extends RouteConfig>(route: R): R {
  const content = route.request?.body?.content;
  if (!content) return route;
  const types = Object.keys(content);
  const note: MiddlewareHandler = async (c, next) => {
    bodyMediaTypes.set(c, types);
    await next();
  };
  const own = route.middleware === undefined ? [] : [route.middleware].flat();
  return { ...route, middleware: [note, ...own] };
}

/** A router with keyward's validation hook: every zod failure becomes a ValidationError. */
export function createRouter() {
  const router = new OpenAPIHono<AppEnv>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) {
        const { message, fields } = describeZodError(result.error);
        throw new ValidationError(fields, message);
      }
    },
  });
  const register = router.openapi;
  router.openapi = (route, handler, hook) => register(noteBodyMediaTypes(route), handler, hook);
  return router;
}

function unsupportedMediaType(expected: readonly string[] | undefined): ApiError {
  const message = expected?.length ? `Content-Type must be ${expected.join(" or ")}` : "This Content-Type is not accepted here";
  return new ApiError("unsupported_media_type", message);
}

/** Maps anything thrown to an ApiError; unknown errors become `internal` (and are logged). */
export function toApiError(err: unknown, c?: Context): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ConfigError) return new ApiError("misconfigured", `keyward is not configured: ${err.message}`);
  if (err instanceof HTTPException) {
    if (err.status === 415) return unsupportedMediaType(c && bodyMediaTypes.get(c));
    const byStatus: Record<number, ErrorCode> = {
      400: "bad_request",
      401: "unauthorized",
      404: "not_found",
      413: "payload_too_large",
    };
    const code = byStatus[err.status] ?? "bad_request";
    return new ApiError(code, err.message || "Bad request");
  }
  console.error("unhandled error", safeErrorText(err));
  return new ApiError("internal", "Internal error");
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** The methods some route answers on `path`; Hono serves HEAD wherever it serves GET. */
function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  // Middleware is registered for "ALL" methods; only routes count.
  const allowed: string[] = METHODS.filter((method) =>
    app.router.match(method, path)[0].some(([[, route]]) => route.method === method),
  );
  if (allowed.includes("GET")) allowed.splice(1, 0, "HEAD");
  return allowed;
}

const BOOKMARK = /^[0-9A-Za-z-]{1,256}$/;

/**
 * With KEYWARD_D1_READ_REPLICAS, each request reads through a D1 session (Sessions API): from
 * the client's own bookmark when it sends one (so it sees its own writes), else from any
 * replica. Writes go to the primary either way; the response carries the new bookmark.
 */
function openReadSession(d1: D1Database, bookmark: string | undefined): D1DatabaseSession {
  if (bookmark !== undefined && !BOOKMARK.test(bookmark)) {
    throw new ApiError("bad_request", "x-d1-bookmark must be a bookmark keyward answered");
  }
  return d1.withSession(bookmark ?? "first-unconstrained");
}

/** Requests that read only, whatever their method: token grants and introspection change no credential. */
const READ_ONLY_POSTS = new Set(["/v2/auth", "/oauth/introspect"]);

/** Whether a request may have changed a credential, a user or a grant (the verify cache is emptied after it). */
function changesState(method: string, path: string): boolean {
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return false;
  return !READ_ONLY_POSTS.has(path);
}

/**
 * A response authenticated by a rotated credential's old secret says so: `Deprecation` (RFC
 * 9745, when the rotation deprecated it) and `Sunset` (RFC 8594, when it stops working).
 */
function deprecationHeaders(c: Context<AppEnv>) {
  const lineage = c.get("principal")?.lineage;
  const deprecated =
    lineage && (lineage.kind === "api_key" || lineage.kind === "registry_token") ? lineage.deprecated : undefined;
  if (!deprecated) return;
  c.header("Deprecation", `@${Math.floor(deprecated.deprecatedAt.getTime() / 1000)}`);
  c.header("Sunset", deprecated.sunsetAt.toUTCString());
}

/** The one app factory, shared by the Worker and the tests. */
export function createApp() {
  const app = createRouter();

  app.use(async (c, next) => {
    c.set("requestId", crypto.randomUUID());
    c.set("principal", null);
    await next();
    deprecationHeaders(c);
    // Credentials pass through these responses: no shared cache may keep them.
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
  });
  app.use(limitBody(MAX_BODY_BYTES));
  app.use(async (c, next) => {
    if (HEALTH.has(app.getPath(c.req.raw))) return next();
    const config = await loadConfig(c.env);
    c.set("config", config);
    const primary = createDb(c.env.DB);
    const session = config.d1ReadReplicas ? openReadSession(c.env.DB, c.req.header("x-d1-bookmark")) : null;
    c.set("db", session ? createDb(session as unknown as D1Database) : primary);
    if (session) c.set("primaryDb", primary);
    await bootstrap(primary, config);
    await next();
    const bookmark = session?.getBookmark();
    if (bookmark) c.header("x-d1-bookmark", bookmark);
    if (changesState(c.req.method, c.req.path)) invalidateVerifyCache();
  });

  // The one place errors are rendered, in the format of the surface the path belongs to: a
  // router's own onError would never see what the middleware above raises.
  app.onError((err, c) => renderError(c, toApiError(err, c)));
  app.notFound((c) => {
    const allowed = allowedMethods(app, app.getPath(c.req.raw));
    if (allowed.length === 0) {
      return renderError(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`));
    }
    const list = allowed.join(", ");
    const message = `${c.req.method} is not allowed on ${c.req.path}; allowed: ${list}`;
    return renderError(c, new ApiError("method_not_allowed", message, { Allow: list }));
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
