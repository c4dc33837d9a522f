/**
 * D1 allows a Worker invocation 1,000 queries on the Workers Paid plan (50 on Free). keyward's
 * crons are designed for Paid: one scheduled invocation runs all of its cron's jobs within
 * this many D1 statements, leaving headroom for a failing job's audit entry and anything the
 * runtime adds. Each statement of a `d1.batch` counts as one query (Cloudflare does not promise
 * that a batch counts once).
 */
export const QUERY_BUDGET = 900;

export class QueryBudgetExhausted extends Error {
  constructor(limit: number) {
    super(`D1 query budget of ${limit} exhausted`);
    this.name = "QueryBudgetExhausted";
  }
}

/** A count of D1 statements that may still be sent; an allowance also draws on its parent. */
export class QueryBudget {
  #used = 0;

  constructor(
    readonly limit: number,
    private readonly parent?: QueryBudget,
  ) {}

  get used(): number {
    return this.#used;
  }

  get remaining(): number {
    const own = Math.max(0, this.limit - this.#used);
    return this.parent ? Math.min(own, this.parent.remaining) : own;
  }

  /** Takes `n` statements or, if fewer remain, throws before anything is sent. */
  take(n: number): void {
    if (n > this.remaining) throw new QueryBudgetExhausted(this.limit);
    this.#used += n;
    this.parent?.take(n);
  }

  /** A share of what remains, at most `limit` statements. */
  allowance(limit: number): QueryBudget {
    return new QueryBudget(Math.max(0, Math.min(limit, this.remaining)), this);
  }
}

type Unwrappable = D1PreparedStatement & { [UNWRAP]?: D1PreparedStatement };
const UNWRAP = Symbol("statement");

/**
 * `d1` with every statement it runs taken from `budget` first, so no job (nor Drizzle on its
 * behalf) can send a query the budget does not cover. `exec` is refused: its statement count
 * is not known before it runs, and no job needs it.
 */
export function meteredD1(d1: D1Database, budget: QueryBudget): D1Database {
  const meter = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        if (prop === UNWRAP) return target;
        if (prop === "bind") return (...values: unknown[]) => meter(target.bind(...values));
        if (prop === "run" || prop === "all" || prop === "first" || prop === "raw") {
          return (...args: unknown[]) => {
            budget.take(1);
            return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (sql: string) => meter(target.prepare(sql));
      if (prop === "batch") {
        return (statements: Unwrappable[]) => {
          budget.take(statements.length);
          // D1 accepts only its own statement objects.
          return target.batch(statements.map((s) => s[UNWRAP] ?? s));
        };
      }
      if (prop === "exec") {
        return () => Promise.reject(new Error("exec is not metered; use prepare or batch"));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
