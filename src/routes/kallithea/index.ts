import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { createRouter } from "../../app";
import { actorOf, clientAddress, verifyContext } from "../../auth/request";
import { verifyCredential } from "../../credentials/verify";
import { redactSecrets } from "../../crypto/secrets";
import type { Principal } from "../../domain/access";
import type { AppEnv } from "../../env";
import { ApiError, safeErrorText } from "../../errors";
import { limitBody } from "../../http/bodyLimit";
import { KEY_API_MAX_BODY, printableOnly } from "../common";
import { type Envelope, parseCall, rpcError, rpcResult } from "./envelope";
import { assertAllowed, findMethod, METHODS, parseArgs, RpcError } from "./methods";

/** Kallithea's one JSON-RPC endpoint. */
export const RPC_PATH = "/_admin/api";

/** The caller of an RPC: an API key, and nothing else (domain/trust.ts, boundary "rpc"). */
async function rpcPrincipal(c: Context<AppEnv>, apiKey: unknown): Promise<Principal> {
  if (typeof apiKey !== "string" || apiKey.length === 0 || apiKey.length > 1024) throw new RpcError("Invalid API key");
  const verification = await verifyCredential(verifyContext(c), { username: null, value: apiKey }, { boundary: "rpc" });
  if (verification.ok) return verification.principal;
  if (verification.reason === "throttled") throw new RpcError("Too many failed sign-in attempts; try again later");
  if (verification.reason === "over_rate_limit") throw new RpcError("This API key is over its rate limit; try again later");
  throw new RpcError("Invalid API key");
}

/** What the caller reads in `error`: keyward's own refusals verbatim, anything else hidden. */
function errorText(err: unknown, requestId: string): string {
  // Errors echo what the caller sent (a method or arg name, a userid): never a secret.
  if (err instanceof RpcError) return redactSecrets(err.message);
  if (err instanceof ApiError && err.code !== "internal" && err.code !== "misconfigured") return redactSecrets(err.message);
  console.error("rpc: unhandled error", requestId, safeErrorText(err));
  return "Internal server error";
}

async function answer(c: Context<AppEnv>): Promise<Envelope> {
  const parsed = parseCall(await c.req.text());
  if (!parsed.ok) return parsed.reply;
  const { call } = parsed;
  try {
    const principal = await rpcPrincipal(c, call.apiKey);
    c.set("principal", principal);
    const method = findMethod(call.method);
    const args = parseArgs(method, call.args);
    assertAllowed(call.method as string, method, principal);
    const result = await method.run(
      {
        db: c.get("db"),
        config: c.get("config"),
        actor: actorOf(c),
        principal,
        client: clientAddress(c),
        userAgent: printableOnly(c.req.header("user-agent") ?? "").slice(0, 256) || null,
      },
      args,
    );
    return rpcResult(call.id, result);
  } catch (err) {
    return rpcError(call.id, errorText(err, c.get("requestId")));
  }
}

const EnvelopeSchema = z
  .object({
    id: z.unknown().openapi({ description: "The request's id, echoed (null when it could not be read)" }),
    result: z.unknown().openapi({ description: "The method's result; null on error" }),
    error: z.string().nullable().openapi({ description: "What went wrong; null on success" }),
  })
  .openapi("KallitheaEnvelope");

const CallSchema = z
  .object({
    id: z.unknown().openapi({ example: 1 }),
    api_key: z.string().openapi({ example: "zak_…" }),
    method: z.enum(Object.keys(METHODS) as [string, ...string[]]),
    args: z.record(z.string(), z.unknown()).openapi({ example: { userid: "alice" } }),
  })
  .openapi("KallitheaCall");

/** Kallithea's JSON-RPC API: always HTTP 200 with `{id, result, error}`. */
export function kallitheaRouter() {
  const router = createRouter();
  router.openAPIRegistry.registerPath({
    method: "post",
    path: RPC_PATH,
    tags: ["Kallithea JSON-RPC"],
    summary: "Call a Kallithea API method",
    description:
      "Kallithea's envelope: the body (text/plain as kallithea-api sends it, or JSON) names the method, its args and the API key. Every answer is HTTP 200; errors are in `error`. Methods: " +
      Object.keys(METHODS).join(", "),
    request: {
      body: {
        required: true,
        content: { "text/plain": { schema: CallSchema }, "application/json": { schema: CallSchema } },
      },
    },
    responses: { 200: { description: "The result or the error", content: { "application/json": { schema: EnvelopeSchema } } } },
  });
  router.post(RPC_PATH, limitBody(KEY_API_MAX_BODY), async (c) => c.json(await answer(c), 200));
  return router;
}
