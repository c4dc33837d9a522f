/** The closed set of error codes keyward answers with, and their HTTP status. */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  // A credential the lifetime policy does not allow (domain/policy.ts): bad input, like an
  // expiry in the past, so 400 on every surface (zot's clients know only 400).
  policy_violation: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  misconfigured: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. WWW-Authenticate or Retry-After. */
    readonly headers: Record<string, string> = {},
    /** Quay's exact body for this error on /api/v1 (sign-in, CSRF, fresh login). */
    readonly quayBody?: Record<string, unknown>,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
  }
}

export const badRequest = (message: string) => new ApiError("bad_request", message);
export const notFound = (message = "Not found") => new ApiError("not_found", message);
export const forbidden = (message = "You are not allowed to do this") => new ApiError("forbidden", message);
export const conflict = (message: string) => new ApiError("conflict", message);
export const policyViolation = (message: string) => new ApiError("policy_violation", message);

/** The Basic challenge every 401 carries (RFC 7617), so clients know to send credentials. */
export const WWW_AUTHENTICATE = 'Basic realm="keyward", charset="UTF-8"';

/** The one refusal for bad credentials: it never says whether the user exists. */
export function unauthorized(message = "Invalid credentials") {
  return new ApiError("unauthorized", message, { "WWW-Authenticate": WWW_AUTHENTICATE });
}

/** An OAuth error code of its own (RFC 7009's unsupported_token_type), rendered on /oauth. */
export class OAuthError extends ApiError {
  constructor(
    readonly oauthCode: string,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

/** Bad input: the readable sentence plus one entry per offending field. */
export class ValidationError extends ApiError {
  constructor(
    readonly fields: { path: string; message: string }[],
    message: string,
  ) {
    super("validation_failed", message);
  }
}

/**
 * What may be logged of an error: Drizzle's query errors carry the bound parameters (hashes,
 * emails) in their message, so only the underlying cause is logged.
 */
export function safeErrorText(err: unknown): string {
  if (err instanceof Error && err.cause instanceof Error) return `${err.name}: ${err.cause.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : "non-Error thrown";
}
