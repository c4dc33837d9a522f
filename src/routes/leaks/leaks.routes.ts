import { createRoute, z } from "@hono/zod-openapi";
import { MAX_REPORTED_CREDENTIALS } from "../../credentials/leaks";
import { SECRET_PREFIXES } from "../../crypto/secrets";
import { jsonBody, jsonResponse, standardErrors } from "../common";
import { anonymousOnly, throttleLeakReports } from "./limits";

const tags = ["Leaked credentials"];

export const LeakReport = z
  .object({
    credentials: z
      .array(z.string().max(512))
      .min(1, "list at least one credential")
      .max(MAX_REPORTED_CREDENTIALS, `at most ${MAX_REPORTED_CREDENTIALS} credentials per request`),
  })
  .strict()
  .openapi("LeakReport");

export const reportLeakRoute = createRoute({
  method: "post",
  path: "/credentials/revoke",
  tags,
  summary: "Report leaked keyward secrets: each one that exists is revoked at once (GitHub's shape)",
  description:
    "For anyone who finds a keyward secret anywhere. Unauthenticated only (an Authorization header is refused), " +
    "throttled per client address. The answer is 202 whatever was found: it tells nothing about which values were valid.",
  middleware: [anonymousOnly, throttleLeakReports],
  request: { body: jsonBody(LeakReport) },
  responses: {
    202: jsonResponse(z.object({ message: z.string() }), "Accepted"),
    400: standardErrors[400],
    403: standardErrors[403],
    413: standardErrors[413],
    429: { description: "Too many reports from this address; see Retry-After" },
  },
});

const SecretPattern = z
  .object({
    prefix: z.enum(SECRET_PREFIXES),
    name: z.string(),
    regex: z.string().openapi({ description: "ECMAScript/RE2-compatible" }),
    revokeUrl: z.string(),
  })
  .openapi("SecretPattern");

export const secretPatternsRoute = createRoute({
  method: "get",
  path: "/.well-known/keyward/secret-patterns.json",
  tags,
  summary: "keyward's secret formats, for secret scanners",
  responses: {
    200: jsonResponse(
      z.object({ issuer: z.string(), revokeUrl: z.string(), patterns: z.array(SecretPattern) }),
      "One regex per secret prefix",
    ),
  },
});
