import { inArray } from "drizzle-orm";
import type { Context } from "hono";
import { registryTokens } from "../db/schema";
import { parseSecret, secretHashes } from "../crypto/secrets";
import type { AppEnv } from "../env";
import { assertNotThrottled, failureCountsQuery, recordAuthFailure, type FailureKeys } from "../services/authFailures";
import { grantsQuery, publicPatternsQuery, type AccessContext } from "../services/permissions";
import { isTokenUsable, recordTokenUse, tokenLookupQuery, type ResolvedToken } from "../services/registryTokens";
import { actorOf, clientAddress, defer, unauthorized } from "./authenticate";

/**
 * `name:krt_…` at /v2/auth: the token, its registry's service, its creator, the creator's
 * grants, the public repositories and the client's failure counter in one D1 round trip.
 * Valid only for its own registry's service, while enabled and unexpired.
 */
export async function authenticateRegistryToken(
  c: Context<AppEnv>,
  name: string,
  secret: string,
  service: string,
): Promise<{ token: ResolvedToken; creator: AccessContext }> {
  if (parseSecret(secret) !== "krt") throw unauthorized();
  const db = c.get("db");
  const hashes = await secretHashes(secret, c.get("config").peppers);
  const keys: FailureKeys = { client: clientAddress(c) };
  const creatorId = db
    .select({ id: registryTokens.createdByUserId })
    .from(registryTokens)
    .where(inArray(registryTokens.secretHash, hashes));
  const [tokens, counters, grants, publicRows] = await db.batch([
    tokenLookupQuery(db, hashes),
    failureCountsQuery(db, keys),
    grantsQuery(db, creatorId),
    publicPatternsQuery(db),
  ]);
  assertNotThrottled(counters, keys, "before");
  const token = tokens[0];
  if (!token || !isTokenUsable(token, name, service)) {
    await recordAuthFailure(db, actorOf(c), keys, { method: "registry_token", token: token?.name === name ? token.id : null });
    throw unauthorized();
  }
  defer(c, recordTokenUse(db, token));
  return {
    token,
    creator: {
      user: { username: token.creator.username, superuser: token.creator.superuser },
      grants,
      publicPatterns: publicRows.map((r) => r.pattern),
      keyScopes: null,
    },
  };
}
