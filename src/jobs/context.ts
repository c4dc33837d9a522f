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
