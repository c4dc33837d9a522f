import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireSuperuser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { LifetimePolicy } from "../../domain/policy";
import { MAX_REPORTED } from "../../services/policy";
import { basicOrBearer, jsonBody, jsonResponse, keyApiBodyLimit, standardErrors } from "../common";

const tags = ["Lifetime policy"];
const superuserOnly = [authenticate, requireSuperuser];

const Violation = z
  .object({
    kind: z.enum(["apiKey", "registryToken"]),
    id: z.string(),
    name: z.string().openapi({ description: "The key's label or the token's name" }),
    owner: z.string().openapi({ description: "The owner's username (a token: the user who made it)" }),
    ownerId: z.string(),
    registryId: z.string().optional(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    reason: z.string(),
  })
  .openapi("PolicyViolation");

const Report = z
  .object({
    policy: LifetimePolicy,
    dryRun: z.boolean().openapi({ description: "true: nothing was saved" }),
    violations: z.array(Violation).openapi({
      description: `Live credentials that break the policy, oldest first, at most ${MAX_REPORTED}. They keep working until their own expiry; nothing about them is changed.`,
    }),
    count: z.number().int().openapi({ description: "Every violator, also those not listed" }),
    truncated: z.boolean(),
  })
  .openapi("PolicyReport");

export const getPolicyRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/policy",
  tags,
  summary: "The lifetime policy for API keys and registry tokens (no limits until one is set)",
  security: basicOrBearer,
  middleware: superuserOnly,
  responses: { 200: jsonResponse(LifetimePolicy, "The policy"), ...standardErrors },
});

export const putPolicyRoute = createRoute({
  method: "put",
  path: "/api/v1/superuser/policy",
  tags,
  summary: "Set the lifetime policy, or with dryRun=true only see which credentials would break it",
  description:
    "Every later create or update of an API key or registry token, on every surface, is checked against it. Existing violators are reported, never changed.",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: {
    query: z
      .object({
        dryRun: z
          .enum(["true", "false"])
          .optional()
          .openapi({ description: "true: report the violators of this policy and save nothing" }),
      })
      .strict(),
    body: jsonBody(LifetimePolicy),
  },
  responses: { 200: jsonResponse(Report, "The policy and the credentials that break it"), ...standardErrors },
});
