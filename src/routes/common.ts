import { z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { containsSecret, redactSecrets } from "../crypto/secrets";
import type { AppEnv } from "../env";
import { limitBody } from "../http/bodyLimit";

/** Key APIs take at most 8 KiB (SPEC §4.1, §5). */
export const KEY_API_MAX_BODY = 8 * 1024;

export const keyApiBodyLimit = limitBody(KEY_API_MAX_BODY);

/**
 * zot's documented curl (`curl -X POST … -d '{…}'`) sends JSON as form-encoded. zot decodes
 * the body as JSON whatever the Content-Type, so this surface does too.
 */
export const bodyIsJson = createMiddleware<AppEnv>(async (c, next) => {
  const type = c.req.header("content-type");
  if (!type || type.startsWith("application/x-www-form-urlencoded") || type.startsWith("text/plain")) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("content-type", "application/json");
    c.req.raw = new Request(c.req.raw, { headers });
  }
  await next();
});

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: "validation_failed" }),
      message: z.string(),
      requestId: z.string(),
      fields: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

const errorResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: ErrorSchema } },
});

/** The error responses every authenticated JSON route can give. */
export const standardErrors = {
  400: errorResponse("Invalid input"),
  401: errorResponse("Missing or invalid credentials"),
  403: errorResponse("Not allowed"),
  413: errorResponse("Body too large"),
  429: errorResponse("Too many failed sign-in attempts"),
} as const;

export const notFoundError = { 404: errorResponse("Not found") } as const;
export const conflictError = { 409: errorResponse("Already exists") } as const;

export const basicOrBearer: Record<string, string[]>[] = [{ basicAuth: [] }, { bearerAuth: [] }];

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return { required: true, description, content: { "application/json": { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

export { RepositoryGlob } from "../domain/repositories";

// C0/C1 controls, invisible format characters (soft hyphen, zero-width, bidi marks, overrides
// and isolates, line/paragraph separators, BOM), specials/noncharacters and unpaired UTF-16
// surrogates: text a person cannot see, that reorders what they see, or that breaks strict
// JSON consumers (jq reading the audit log) is refused.
const UNPRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point: they are refused.
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff0-\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether `text` is printable, well-formed text (see UNPRINTABLE) with no keyward secret in it. */
export const isPrintable = (text: string) => !UNPRINTABLE.test(text) && !containsSecret(text);

/** Text from a header kept for display (a User-Agent): what is not printable is dropped, secrets redacted. */
export const printableOnly = (text: string) => redactSecrets([...text].filter((ch) => !UNPRINTABLE.test(ch)).join(""));

/** A JSON value kept and listed (service-key metadata) must not carry a keyward secret either. */
export const holdsNoSecret = (value: unknown) => !containsSecret(JSON.stringify(value) ?? "");

/** A free-text label or description: printable, well-formed text. */
export const PrintableText = z
  .string()
  .refine((s) => !UNPRINTABLE.test(s), "must be printable text (no control characters or unpaired surrogates)")
  .refine((s) => !containsSecret(s), "must not contain a keyward secret (zak_, krt_, krf_, kss_)");
