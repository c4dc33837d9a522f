import type { Config } from "../config";
import type { Db } from "../db/client";
import type { QueryBudget } from "./budget";

export interface JobContext {
  /** Both `db` and `d1` draw every statement from `budget`. */
  db: Db;
  /** Raw D1, for set-based SQL that Drizzle's batch cannot carry. */
  d1: D1Database;
  /** This job's share of the invocation's D1 queries. */
  budget: QueryBudget;
  config: Config;
  now: Date;
}

/** What a job did, recorded in the audit log and returned for tests. */
export type JobResult = Record<string, number>;

export type Job = (ctx: JobContext) => Promise<JobResult>;

/**
 * Rows one statement of a batch acts on (the statements bind one or two parameters whatever
 * the count, so D1's 100 bound parameters do not limit it). Measured with `npm run
 * bench:sweep`: bigger batches speed up a sweep of a small table, whose rows share B-tree
 * pages, but hardly one among a million rows, where each row's index entries sit on pages of
 * their own; they only hold D1 longer, and requests wait behind each batch. 250 rows keep a
 * batch to a few tens of milliseconds and still clear 100,000 rows within one run's budget.
 */
export const BATCH_ROWS = 250;

export interface Batches {
  /** Rows the last statement changed, over all batches. */
  changed: number;
  /** 1 if the budget ran out while a full batch suggested more rows: the next run goes on. */
  more: number;
}

/**
 * Runs `statements` as one D1 batch (one transaction) again and again until the last statement
 * changes fewer than BATCH_ROWS rows, or the budget cannot pay for another batch. Each
 * statement must select at most BATCH_ROWS rows through an index on what makes a row due, so
 * a run that stops leaves no half-done batch and the next run starts where this one ended.
 */
export async function repeatInBatches(
  { d1, budget }: Pick<JobContext, "d1" | "budget">,
  statements: D1PreparedStatement[],
): Promise<Batches> {
  let changed = 0;
  for (;;) {
    if (budget.remaining < statements.length) return { changed, more: 1 };
    const results = await d1.batch(statements);
    const changes = results.at(-1)!.meta.changes ?? 0;
    changed += changes;
    if (changes < BATCH_ROWS) return { changed, more: 0 };
  }
}
