import { env } from "cloudflare:workers";

const WRITE = /^\s*(insert|update|delete|replace)\b/i;

/**
 * A D1 binding that counts round trips (prepare+run/all/first, batch, exec), statements (a
 * batch of n is one round trip, n statements: D1's per-invocation query limit) and the write
 * statements among them before delegating. `real` may be a D1 session (Sessions API).
 */
export function countingD1(real: D1Database = env.DB): {
  db: D1Database;
  roundTrips: () => number;
  statements: () => number;
  writes: () => number;
} {
  let trips = 0;
  let statements = 0;
  let writes = 0;
  const wrapStatement = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop, receiver) {
        if (prop === "__target") return target;
        if (prop === "__sql") return sql;
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args), sql);
        if (prop === "run" || prop === "all" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) => {
            trips += 1;
            statements += 1;
            if (WRITE.test(sql)) writes += 1;
            return (target as any)[prop](...args);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), sql);
      if (prop === "batch") {
        return (batch: D1PreparedStatement[]) => {
          trips += 1;
          statements += batch.length;
          writes += batch.filter((s) => WRITE.test((s as any).__sql ?? "")).length;
          // Unwrap: D1 wants its own statement objects.
          return target.batch(batch.map((s) => (s as any).__target ?? s));
        };
      }
      if (prop === "exec") {
        return (sql: string) => {
          trips += 1;
          return target.exec(sql);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, roundTrips: () => trips, statements: () => statements, writes: () => writes };
}
