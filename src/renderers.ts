import type { Context } from "hono";
import { errorPageHtml } from "./console/ui";
import type { AppEnv } from "./env";
import { type ApiError, type ErrorCode, OAuthError, ValidationError } from "./errors";

/**
 * How each surface writes an ApiError on the wire. The root `onError` and `notFound` are the
 * only callers, so errors raised before a surface's router runs (body limit, 404, 405, config)
 * still answer in that surface's format (SPEC §5).
 */
type Renderer = (c: Context<AppEnv>, err: ApiError) => Response;

function keywardError(c: Context<AppEnv>, err: ApiError) {
  const body: Record<string, unknown> = { code: err.code, message: err.message, requestId: c.get("requestId") };
  if (err instanceof ValidationError) body.fields = err.fields;
  return body;
}

/** keyward's own `{error: {code, message, requestId, fields?}}`. */
const renderKeyward: Renderer = (c, err) => c.json({ error: keywardError(c, err) }, err.status, err.headers);

/**
 * Quay API v1 (`/api/v1/*`): keyward's error object plus Quay's fields (`error_message`,
 * `error_type`, `title`, `status`, `detail`, `type`), so Quay-style clients and keyward
 * clients both read it; Quay's exact bodies where Quay has one (sign-in, CSRF, fresh login).
 */
const renderQuay: Renderer = (c, err) => {
  if (err.quayBody) return c.json(err.quayBody, err.status, err.headers);
  return c.json(
    {
      error: keywardError(c, err),
      error_message: err.message,
      error_type: err.code,
      title: err.code,
      status: err.status,
      detail: err.message,
      type: `${new URL(c.req.url).origin}/api/v1/error/${err.code}`,
    },
    err.status,
    err.headers,
  );
};

// Docker's error vocabulary for the token endpoint.
const DOCKER_CODES: Partial<Record<ErrorCode, string>> = {
  unauthorized: "UNAUTHORIZED",
  forbidden: "DENIED",
  rate_limited: "TOOMANYREQUESTS",
  misconfigured: "UNAVAILABLE",
  internal: "UNKNOWN",
};

/** `/v2/auth`: the Docker registry token error `{errors: [{code, message}]}`. */
const renderDockerToken: Renderer = (c, err) => {
  const code = DOCKER_CODES[err.code] ?? "INVALID_REQUEST";
  return c.json({ errors: [{ code, message: err.message }] }, err.status, err.headers);
};

/** IONOS Container Registry: `{httpStatus, messages: [{errorCode, message}]}`. */
const renderIonos: Renderer = (c, err) =>
  c.json(
    { httpStatus: err.status, messages: [{ errorCode: err.code.toUpperCase(), message: err.message }] },
    err.status,
    err.headers,
  );

/**
 * Kallithea's JSON-RPC: every answer is HTTP 200 `{id, result: null, error}`, even the body
 * limit's, a 404 or a 405 (Kallithea's clients read only the envelope).
 */
const renderKallithea: Renderer = (c, err) =>
  c.json({ id: null, result: null, error: err.code === "internal" ? "Internal server error" : err.message }, 200, err.headers);

// RFC 6749 §5.2's vocabulary, as RFC 7662 and RFC 7009 use it.
const OAUTH_CODES: Partial<Record<ErrorCode, string>> = {
  unauthorized: "invalid_client",
  bad_request: "invalid_request",
  validation_failed: "invalid_request",
  payload_too_large: "invalid_request",
  unsupported_media_type: "invalid_request",
  forbidden: "access_denied",
  internal: "server_error",
  misconfigured: "temporarily_unavailable",
};

/** `/oauth/*` (RFC 7662, RFC 7009): `{error, error_description}`. */
const renderOAuth: Renderer = (c, err) => {
  const error = err instanceof OAuthError ? err.oauthCode : (OAUTH_CODES[err.code] ?? err.code);
  const description = err.code === "internal" ? "Internal error" : err.message;
  return c.json({ error, error_description: description }, err.status, err.headers);
};

/** The console: an HTML page (a form posted without its CSRF token lands here). */
const renderConsole: Renderer = (c, err) => {
  const message = err.code === "internal" ? "Something went wrong on our side." : err.message;
  return c.html(errorPageHtml(err.status, message, c.get("secureHeadersNonce") ?? ""), err.status, err.headers);
};

/** Compatibility surfaces by mount prefix; every other path is keyward's own API. */
const SURFACES: readonly { prefix: string; render: Renderer }[] = [
  { prefix: "/v2/auth", render: renderDockerToken },
  { prefix: "/registries", render: renderIonos },
  { prefix: "/_admin/api", render: renderKallithea },
  { prefix: "/api/v1", render: renderQuay },
  { prefix: "/console", render: renderConsole },
  { prefix: "/oauth", render: renderOAuth },
];

/** The renderer of the surface `path` belongs to (whole segments: `/registriesX` is not IONOS). */
function rendererFor(path: string): Renderer {
  const surface = SURFACES.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
  return surface?.render ?? renderKeyward;
}

export function renderError(c: Context<AppEnv>, err: ApiError): Response {
  return rendererFor(c.req.path)(c, err);
}
