import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { ConfigError, loadConfig } from "./config";
import { createDb } from "./db/client";
import type { AppEnv } from "./env";
import { ApiError, safeErrorText, type ErrorCode } from "./errors";
import { ensureBootstrapAdmin } from "./services/users";

/** Every body keyward accepts is small; key APIs cap lower (8 KiB) on their own routes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Turns a zod failure into one readable sentence plus the per-field list. */
export function describeZodError(error: z.ZodError): { message: string; fields: { path: string; message: string }[] } {
  const fields = error.issues.map((issue) => ({
    path: issue.path.map(String).join(".") || "(body)",
    message: issue.message,
  }));
  const message = fields.map((f) => `${f.path}: ${f.message}`).join("; ");
  return { message: `Invalid request: ${message}`, fields };
}

export class ValidationError extends ApiError {
  constructor(readonly fields: { path: string; message: string }[], message: string) {
    super("validation_failed", message);
  }
}

/** A router with keyward's validation hook: every zod failure becomes a ValidationError. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    strict: false,
    defaultHook: (result) => {
      if (!result.success) {
        const { message, fields } = describeZodError(result.error);
        throw new ValidationError(fields, message);
      }
    },
  });
}

/** Maps anything thrown to an ApiError; unknown errors become `internal` (and are logged). */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ConfigError) return new ApiError("misconfigured", `keyward is not configured: ${err.message}`);
  if (err instanceof HTTPException) {
    const byStatus: Record<number, ErrorCode> = {
      400: "bad_request",
      401: "unauthorized",
      404: "not_found",
      413: "payload_too_large",
      415: "unsupported_media_type",
    };
    const code = byStatus[err.status] ?? "bad_request";
    return new ApiError(code, err.message || "Bad request");
  }
  console.error("unhandled error", safeErrorText(err));
  return new ApiError("internal", "Internal error");
}

export function renderError(c: Context<AppEnv>, err: ApiError) {
  const body: Record<string, unknown> = { code: err.code, message: err.message, requestId: c.get("requestId") };
  if (err instanceof ValidationError) body.fields = err.fields;
  return c.json({ error: body }, err.status, err.headers);
}

/** The one app factory, shared by the Worker and the tests. */
export function createApp() {
  const app = createRouter();

  app.use(async (c, next) => {
    c.set("requestId", crypto.randomUUID());
    c.set("principal", null);
    const config = await loadConfig(c.env);
    c.set("config", config);
    c.set("db", createDb(c.env.DB));
    await ensureBootstrapAdmin(c.get("db"), config);
    await next();
    // Credentials pass through these responses: no shared cache may keep them.
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
    c.header("X-Content-Type-Options", "nosniff");
  });
  app.use(
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", `Request body is larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
  );

  app.onError((err, c) => renderError(c, toApiError(err)));
  app.notFound((c) => renderError(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`)));
  return app;
}

export type App = ReturnType<typeof createApp>;
