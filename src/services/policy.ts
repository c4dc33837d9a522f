import { and, asc, count, eq, gt, isNull, or, type SQL, sql } from "drizzle-orm";
import { batchNamed } from "../db/batch";
import type { Db } from "../db/client";
import { apiKeys, registryTokens, settings, users } from "../db/schema";
import {
  DAY_MS,
  DEFAULT_POLICY,
  isUnlimited,
  LifetimePolicy,
  type LifetimeRule,
  lifetimeRefusal,
  type PolicyKind,
} from "../domain/policy";
import { policyViolation } from "../errors";
import { type Actor, auditInsert } from "./audit";

/*
 * The lifetime policy: one settings row (absent: no limits), checked by every write that sets
 * a credential's expiry, and a report of the credentials that break it. Existing violators are
 * reported, never changed: they keep working until their own expiry, and the expiry job sends
 * credential.expiring for each on its usual schedule.
 */

export const POLICY_KEY = "lifetime_policy";

/** The report lists at most this many violators; `count` is all of them. */
export const MAX_REPORTED = 1000;

export async function readPolicy(db: Db): Promise<LifetimePolicy> {
  const [row] = await db.select({ value: settings.value }).from(settings).where(eq(settings.key, POLICY_KEY));
  if (!row) return DEFAULT_POLICY;
  // Written only by savePolicy, after validation; anything else is a broken deployment, and
  // failing loudly beats silently enforcing no limits.
  return LifetimePolicy.parse(row.value);
}

/** Why the policy refuses a credential of `kind` with this lifetime; null when it allows it. */
export async function policyRefusal(
  db: Db,
  kind: PolicyKind,
  credential: { createdAt: Date; expiresAt: Date | null },
): Promise<string | null> {
  return lifetimeRefusal(kind, (await readPolicy(db))[kind], credential);
}

/**
 * Refuses (policy_violation, 400; each surface renders it in its own format) a write that
 * would give a credential of `kind` a lifetime the policy does not allow. One read of the
 * settings row, outside the write's batch: a credential written while the policy changes
 * shows in the next report.
 */
export async function assertWithinPolicy(
  db: Db,
  kind: PolicyKind,
  credential: { createdAt: Date; expiresAt: Date | null },
): Promise<void> {
  const refusal = await policyRefusal(db, kind, credential);
  if (refusal) throw policyViolation(refusal);
}

export interface Violation {
  kind: "apiKey" | "registryToken";
  id: string;
  /** The key's label or the token's name. */
  name: string;
  /** The user the credential belongs to (a token: the user who made it). */
  owner: string;
  ownerId: string;
  registryId?: string;
  createdAt: string;
  expiresAt: string | null;
  reason: string;
}

export interface ViolationReport {
  policy: LifetimePolicy;
  violations: Violation[];
  /** Every violator, also those past MAX_REPORTED. */
  count: number;
  truncated: boolean;
}

/**
 * `lifetimeRefusal` as SQL, for the credentials still live (an expired one breaks nothing: it
 * no longer works, and the sweep removes it): no expiry, or one too far after creation.
 */
function violating(t: typeof apiKeys | typeof registryTokens, rule: LifetimeRule, now: Date): SQL | undefined {
  if (isUnlimited(rule)) return undefined;
  const live = or(isNull(t.expiresAt), gt(t.expiresAt, now));
  const tooLong =
    rule.maxLifetimeDays === null ? undefined : sql`${t.expiresAt} - ${t.createdAt} > ${rule.maxLifetimeDays * DAY_MS}`;
  return and(live, or(isNull(t.expiresAt), tooLong));
}

/**
 * The credentials that break `policy`, oldest first: API keys, then registry tokens, at most
 * MAX_REPORTED of them, and the full count from SQL. One batch of reads, whatever the number.
 */
export async function violationReport(db: Db, policy: LifetimePolicy, now = new Date()): Promise<ViolationReport> {
  const keysWhere = violating(apiKeys, policy.apiKeys, now);
  const tokensWhere = violating(registryTokens, policy.registryTokens, now);
  const r = await batchNamed(db, {
    keys: keysWhere
      ? [
          db
            .select({
              id: apiKeys.id,
              name: apiKeys.label,
              owner: users.username,
              ownerId: apiKeys.userId,
              createdAt: apiKeys.createdAt,
              expiresAt: apiKeys.expiresAt,
            })
            .from(apiKeys)
            .innerJoin(users, eq(users.id, apiKeys.userId))
            .where(keysWhere)
            .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id))
            .limit(MAX_REPORTED),
        ]
      : [],
    keyCount: keysWhere ? [db.select({ n: count() }).from(apiKeys).where(keysWhere)] : [],
    tokens: tokensWhere
      ? [
          db
            .select({
              id: registryTokens.id,
              name: registryTokens.name,
              owner: registryTokens.createdBy,
              ownerId: registryTokens.createdByUserId,
              registryId: registryTokens.registryId,
              createdAt: registryTokens.createdAt,
              expiresAt: registryTokens.expiresAt,
            })
            .from(registryTokens)
            .where(tokensWhere)
            .orderBy(asc(registryTokens.createdAt), asc(registryTokens.id))
            .limit(MAX_REPORTED),
        ]
      : [],
    tokenCount: tokensWhere ? [db.select({ n: count() }).from(registryTokens).where(tokensWhere)] : [],
  });
  type Row = Omit<Violation, "kind" | "reason" | "createdAt" | "expiresAt"> & { createdAt: Date; expiresAt: Date | null };
  const view =
    (kind: Violation["kind"], rule: PolicyKind) =>
    ({ createdAt, expiresAt, ...row }: Row): Violation => ({
      kind,
      ...row,
      createdAt: createdAt.toISOString(),
      expiresAt: expiresAt?.toISOString() ?? null,
      // The same sentence a write would be refused with (the SQL above asks the same question).
      reason: lifetimeRefusal(rule, policy[rule], { createdAt, expiresAt }) ?? "",
    });
  const violations = [
    ...(r.keys[0] ?? []).map(view("apiKey", "apiKeys")),
    ...(r.tokens[0] ?? []).map(view("registryToken", "registryTokens")),
  ].slice(0, MAX_REPORTED);
  const total = (r.keyCount[0]?.[0]?.n ?? 0) + (r.tokenCount[0]?.[0]?.n ?? 0);
  return { policy, violations, count: total, truncated: total > violations.length };
}

/**
 * Sets the policy: the settings row and its audit entry in one batch, and the report of the
 * credentials that now break it (they are reported, never changed). The report is read just
 * before the write; a dry run is `violationReport` alone and writes nothing.
 */
export async function savePolicy(db: Db, actor: Actor, policy: LifetimePolicy): Promise<ViolationReport> {
  const previous = await readPolicy(db);
  const report = await violationReport(db, policy);
  const now = new Date();
  const updatedBy = actor.name ?? "keyward";
  await db.batch([
    db
      .insert(settings)
      .values({ key: POLICY_KEY, value: policy, updatedAt: now, updatedBy })
      .onConflictDoUpdate({ target: settings.key, set: { value: policy, updatedAt: now, updatedBy } }),
    auditInsert(
      db,
      actor,
      {
        kind: "policy.update",
        targetType: "setting",
        targetId: POLICY_KEY,
        metadata: { previous, policy, violations: report.count },
      },
      now,
    ),
  ]);
  return report;
}
