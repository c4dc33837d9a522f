import type { Config } from "../config";
import type { Db } from "../db/client";

export interface JobContext {
  db: Db;
  /** Raw D1, for set-based SQL that Drizzle's batch cannot carry. */
  d1: D1Database;
  config: Config;
  now: Date;
}

/** What a job did, recorded in the audit log and returned for tests. */
export type JobResult = Record<string, number>;

export type Job = (ctx: JobContext) => Promise<JobResult>;

/** D1 caps statements and bound parameters: jobs work in batches of this many rows … */
export const BATCH_ROWS = 100;
/** … and at most this many batches a run, so one run stays bounded; the next run goes on. */
export const MAX_BATCHES = 50;

/**
 * Runs `statements` as one D1 batch (one transaction) again and again, at most MAX_BATCHES
 * times, until the last statement changes fewer than BATCH_ROWS rows; returns how many rows
 * the last statement changed in all. Each statement must select at most BATCH_ROWS rows.
 */
export async function repeatInBatches(d1: D1Database, statements: D1PreparedStatement[]): Promise<number> {
  let changed = 0;
  for (let i = 0; i < MAX_BATCHES; i++) {
    const results = await d1.batch(statements);
    const changes = results.at(-1)!.meta.changes ?? 0;
    changed += changes;
    if (changes < BATCH_ROWS) break;
  }
  return changed;
}
