import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./client";

type Item = BatchItem<"sqlite">;
type Entry = Item | readonly Item[];
type Results<T extends Record<string, Entry>> = {
  [K in keyof T]: T[K] extends readonly Item[] ? Awaited<T[K][number]>[] : Awaited<T[K]>;
};

/**
 * One D1 round trip (one batch, one transaction) whose results have names, not positions:
 * `const { key, counters } = await batchNamed(db, { key: …, counters: … })`. An entry may be
 * a list of statements; its result is then the list of their results.
 */
export async function batchNamed<T extends Record<string, Entry>>(db: Db, queries: T): Promise<Results<T>> {
  const entries = Object.entries(queries);
  const flat = entries.flatMap(([, q]) => (Array.isArray(q) ? q : [q])) as Item[];
  // A lone read needs no batch (a transaction of one): it runs as itself, still one round trip.
  const results = flat.length === 1 ? [await flat[0]] : flat.length > 0 ? await db.batch(flat as [Item, ...Item[]]) : [];
  let at = 0;
  const named: Record<string, unknown> = {};
  for (const [name, q] of entries) {
    if (Array.isArray(q)) {
      named[name] = results.slice(at, at + q.length);
      at += q.length;
    } else {
      named[name] = results[at++];
    }
  }
  return named as Results<T>;
}
