import { z } from "@hono/zod-openapi";

/*
 * The lifetime policy (issue 13 item 4): how long API keys and registry tokens may live. A
 * credential's lifetime is from its creation to its expiry; a credential that never expires
 * has an unbounded lifetime, so `maxLifetimeDays` implies `requireExpiry`. The rule is checked
 * wherever a write sets a credential's expiry (create, replace, an update of the expiry), with
 * `lifetimeRefusal` below and nothing else, and the violation report (services/policy.ts)
 * asks the same question in SQL. Pure: no I/O.
 */

export const MAX_POLICY_DAYS = 3650;
export const DAY_MS = 86_400_000;

export const LifetimeRule = z
  .object({
    maxLifetimeDays: z
      .number()
      .int()
      .min(1)
      .max(MAX_POLICY_DAYS)
      .nullable()
      .openapi({
        description: `The longest a credential may live, creation to expiry, in days (1 to ${MAX_POLICY_DAYS}); null: no maximum. Implies requireExpiry.`,
        example: 90,
      }),
    requireExpiry: z.boolean().openapi({ description: "Whether every credential must have an expiry" }),
  })
  .strict()
  .openapi("LifetimeRule");

export const LifetimePolicy = z
  .object({ apiKeys: LifetimeRule, registryTokens: LifetimeRule })
  .strict()
  .openapi("LifetimePolicy");

export type LifetimeRule = z.infer<typeof LifetimeRule>;
export type LifetimePolicy = z.infer<typeof LifetimePolicy>;
export type PolicyKind = keyof LifetimePolicy;

const NO_LIMITS: LifetimeRule = { maxLifetimeDays: null, requireExpiry: false };

/** What applies while no superuser has set a policy: no limits. */
export const DEFAULT_POLICY: LifetimePolicy = { apiKeys: NO_LIMITS, registryTokens: NO_LIMITS };

/** Whether a rule limits anything at all. */
export const isUnlimited = (rule: LifetimeRule) => rule.maxLifetimeDays === null && !rule.requireExpiry;

/** Whether a rule requires an expiry: said so, or implied by a maximum lifetime. */
export const expiryRequired = (rule: LifetimeRule) => rule.requireExpiry || rule.maxLifetimeDays !== null;

const NOUN: Record<PolicyKind, string> = { apiKeys: "API keys", registryTokens: "registry tokens" };

/**
 * Why a credential of `kind` living from `createdAt` to `expiresAt` (null: never expires)
 * breaks `rule`, as a sentence for the caller; null when it does not.
 */
export function lifetimeRefusal(
  kind: PolicyKind,
  rule: LifetimeRule,
  credential: { createdAt: Date; expiresAt: Date | null },
): string | null {
  const { maxLifetimeDays } = rule;
  if (credential.expiresAt === null) {
    if (!expiryRequired(rule)) return null;
    const limit = maxLifetimeDays === null ? "" : ` within ${maxLifetimeDays} days of its creation`;
    return `The lifetime policy requires ${NOUN[kind]} to expire${limit}; this one would never expire`;
  }
  if (maxLifetimeDays === null) return null;
  const lifetimeMs = credential.expiresAt.getTime() - credential.createdAt.getTime();
  if (lifetimeMs <= maxLifetimeDays * DAY_MS) return null;
  const days = Math.ceil(lifetimeMs / DAY_MS);
  return `The lifetime policy allows ${NOUN[kind]} at most ${maxLifetimeDays} days from creation to expiry; this one would live ${days} days`;
}
