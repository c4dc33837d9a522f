import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { countingD1 } from "../db-spy";
import { ORIGIN, uniqueIp } from "../helpers";

export interface Sent {
  response: Response;
  roundTrips: number;
  writes: number;
}

/**
 * One request through the Worker's fetch handler with a counting D1 (deferred work included:
 * the execution context is awaited). `bindings` override the test environment, e.g. to turn a
 * mode on; pass the same object for requests that should share the isolate's config.
 */
export async function send(
  path: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
  bindings: Partial<typeof env> = {},
): Promise<Sent> {
  const spy = countingD1((bindings.DB as D1Database | undefined) ?? env.DB);
  const ctx = createExecutionContext();
  const headers = { "cf-connecting-ip": uniqueIp(), ...init.headers };
  const response = await worker.fetch(new Request(ORIGIN + path, { ...init, headers }), { ...env, ...bindings, DB: spy.db }, ctx);
  await response.clone().arrayBuffer();
  await waitOnExecutionContext(ctx);
  return { response, roundTrips: spy.roundTrips(), writes: spy.writes() };
}

export const form = (fields: Record<string, string>) => ({
  method: "POST",
  body: new URLSearchParams(fields).toString(),
  headers: { "content-type": "application/x-www-form-urlencoded" },
});
