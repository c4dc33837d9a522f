import { env } from "cloudflare:workers";

/**
 * A D1 binding that counts round trips (prepare+run/all/first, batch, exec) and statements (a
 * batch of n is one round trip, n statements: D1's per-invocation query limit) before delegating.
 */
export function countingD1(real: D1Database = env.DB): { db: D1Database; roundTrips: () => number; statements: () => number } {
  let trips = 0;
  let statements = 0;
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop, receiver) {
        if (prop === "__target") return target;
        if (prop === "bind") return (...args: unknown[]) => wrapStatement(target.bind(...args));
        if (prop === "run" || prop === "all" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) => {
            trips += 1;
            statements += 1;
            return (target as any)[prop](...args);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql));
      if (prop === "batch") {
        return (batch: D1PreparedStatement[]) => {
          trips += 1;
          statements += batch.length;
          // Unwrap: D1 wants its own statement objects.
          return target.batch(batch.map((s) => (s as any).__target ?? s));
        };
      }
      if (prop === "exec") {
        return (sql: string) => {
          trips += 1;
          statements += 1;
          return target.exec(sql);
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, roundTrips: () => trips, statements: () => statements };
}
