import type { RouteHandler } from "@hono/zod-openapi";
import { currentUser } from "../../auth/authenticate";
import { actorOf } from "../../auth/request";
import type { ApiKey } from "../../db/schema";
import type { AppEnv } from "../../env";
import { createApiKey, isExpired, listApiKeys, narrowToCallerKey, revokeApiKey } from "../../services/apiKeys";
import { type DeprecatedView, liveDeprecatedSecrets } from "../../services/rotation";
import { printableOnly } from "../common";
import type { createApiKeyRoute, listApiKeysRoute, revokeApiKeyRoute } from "./apikey.routes";

/** zot's APIKeyDetails; absent times are null (Go's time.Time reads null as the zero time). */
function apiKeyDetails(key: ApiKey, deprecatedSecrets: DeprecatedView[] = []) {
  return {
    uuid: key.id,
    label: key.label,
    scopes: key.scopes ?? [],
    createdAt: key.createdAt.toISOString(),
    expirationDate: key.expiresAt?.toISOString() ?? null,
    isExpired: isExpired(key),
    lastUsed: key.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: key.lastUsedIp,
    creatorUa: key.creatorUa ?? "",
    generatedBy: key.generatedBy,
    kind: key.kind,
    parentId: key.parentId,
    // keyward extension: old secrets of a rotation, working until their sunset.
    deprecatedSecrets,
  };
}

export const create: RouteHandler<typeof createApiKeyRoute, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  const { user, lineage } = currentUser(c);
  const input = narrowToCallerKey(lineage, {
    label: body.label,
    scopes: body.scopes,
    expiresAt: body.expirationDate ? new Date(body.expirationDate) : null,
    creatorUa: printableOnly(c.req.header("user-agent") ?? "").slice(0, 256) || null,
  });
  const { key, secret } = await createApiKey(c.get("db"), c.get("config"), actorOf(c), user, input);
  return c.json({ ...apiKeyDetails(key), apiKey: secret }, 201);
};

export const list: RouteHandler<typeof listApiKeysRoute, AppEnv> = async (c) => {
  const keys = await listApiKeys(c.get("db"), currentUser(c).user);
  const deprecated = await liveDeprecatedSecrets(
    c.get("db"),
    "apiKeyId",
    keys.map((k) => k.id),
  );
  return c.json({ apiKeys: keys.map((k) => apiKeyDetails(k, deprecated.get(k.id))) }, 200);
};

export const revoke: RouteHandler<typeof revokeApiKeyRoute, AppEnv> = async (c) => {
  const { id } = c.req.valid("query");
  const { user, lineage } = currentUser(c);
  await revokeApiKey(c.get("db"), actorOf(c), user, id, lineage);
  return c.body(null, 200);
};
