import { createMiddleware } from "hono/factory";
import { clientAddress } from "../../auth/request";
import type { AppEnv } from "../../env";
import { ApiError } from "../../errors";
import { clientGroup } from "../../services/authFailures";

/** The leak report takes no credentials, as GitHub's does: a signed-in reporter is a 403. */
export const anonymousOnly = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.header("authorization") !== undefined) {
    throw new ApiError("forbidden", "Report leaked credentials without an Authorization header: this endpoint takes none");
  }
  await next();
});

/** The window of LEAK_REPORTS in wrangler.toml ([[ratelimits]] simple.period). */
export const LEAK_REPORT_PERIOD_SECONDS = 60;

/**
 * Per client address (an IPv6 /64 as one), with the Workers Rate Limiting binding — before the
 * body is read or any D1 work. No binding is a deployment error, never an unthrottled endpoint.
 */
export const throttleLeakReports = createMiddleware<AppEnv>(async (c, next) => {
  const limiter = c.env.LEAK_REPORTS;
  if (!limiter) throw new ApiError("misconfigured", "The LEAK_REPORTS rate limiter binding is missing");
  const { success } = await limiter.limit({ key: `leak:${clientGroup(clientAddress(c))}` });
  if (!success) {
    throw new ApiError("rate_limited", "Too many leak reports from this address; try again later", {
      "Retry-After": String(LEAK_REPORT_PERIOD_SECONDS),
    });
  }
  await next();
});
