import type { Context } from "hono";
import type { VerifyContext } from "../credentials/verify";
import { type Actor, credentialLabel } from "../domain/access";
import type { AppEnv } from "../env";
import { safeErrorText } from "../errors";

/** Request helpers the edge hands to the domain; a leaf, so nothing imports back into auth/. */

export function clientAddress(c: Context<AppEnv>): string {
  return c.req.header("cf-connecting-ip") ?? "unknown";
}

export function actorOf(c: Context<AppEnv>): Actor {
  const principal = c.get("principal");
  return {
    id: principal?.user.id ?? null,
    name: principal?.user.username ?? null,
    ip: c.req.header("cf-connecting-ip") ?? null,
    requestId: c.get("requestId"),
    ...(principal ? { credential: credentialLabel(principal.lineage) } : {}),
  };
}

/** Runs bookkeeping after the response without holding it up. */
export function defer(c: Context<AppEnv>, work: Promise<unknown> | null): void {
  if (!work) return;
  const logged = work.catch((err) => console.error("deferred write failed", safeErrorText(err)));
  try {
    c.executionCtx.waitUntil(logged);
  } catch {
    // No ExecutionContext (e.g. app.request in a unit test): the promise still runs.
  }
}

/** The binding as the credential core asks it: within the limit for `key`? */
function rateLimiterOf(binding: RateLimit | undefined): VerifyContext["rateLimit"] {
  return binding && (async (key) => (await binding.limit({ key })).success);
}

/** What the credential core needs of a request. */
export function verifyContext(c: Context<AppEnv>): VerifyContext {
  return {
    db: c.get("db"),
    primary: c.get("primaryDb"),
    rateLimit: rateLimiterOf(c.env.CREDENTIAL_RATE_LIMIT),
    config: c.get("config"),
    actor: actorOf(c),
    client: clientAddress(c),
    defer: (work) => defer(c, work),
  };
}
