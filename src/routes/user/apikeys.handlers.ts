import type { RouteHandler } from "@hono/zod-openapi";
import { currentUser } from "../../auth/authenticate";
import { actorOf } from "../../auth/request";
import type { ApiKey } from "../../db/schema";
import type { AppEnv } from "../../env";
import { forbidden } from "../../errors";
import {
  createApiKey,
  expiryOfLifetime,
  isExpired,
  listApiKeys,
  narrowToCallerKey,
  resetBuiltinApiKey,
  revokeApiKey,
} from "../../services/apiKeys";
import {
  apiKeyRotationRefusal,
  type DeprecatedView,
  endDeprecatedSecret,
  liveDeprecatedSecrets,
  ownedApiKey,
  rotateApiKey,
} from "../../services/rotation";
import { printableOnly } from "../common";
import type {
  createExtraKeyRoute,
  endDeprecatedRoute,
  listRoute,
  resetBuiltinRoute,
  revokeRoute,
  rotateRoute,
} from "./apikeys.routes";

export function apiKeyView(key: ApiKey, deprecatedSecrets: DeprecatedView[] = []) {
  return {
    id: key.id,
    kind: key.kind,
    description: key.label,
    label: key.label,
    scopes: key.scopes,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    expired: isExpired(key),
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    lastUsedIp: key.lastUsedIp,
    parentId: key.parentId,
    creatorUa: key.creatorUa,
    deprecatedSecrets,
  };
}

export const list: RouteHandler<typeof listRoute, AppEnv> = async (c) => {
  const db = c.get("db");
  const keys = await listApiKeys(db, currentUser(c).user);
  const deprecated = await liveDeprecatedSecrets(
    db,
    "apiKeyId",
    keys.map((k) => k.id),
  );
  // The built-in key first, as Kallithea's page shows it; then newest first.
  keys.sort((a, b) => Number(b.kind === "builtin") - Number(a.kind === "builtin"));
  return c.json({ apiKeys: keys.map((k) => apiKeyView(k, deprecated.get(k.id))) }, 200);
};

export const create: RouteHandler<typeof createExtraKeyRoute, AppEnv> = async (c) => {
  const body = c.req.valid("json");
  const { user, lineage } = currentUser(c);
  const input = narrowToCallerKey(lineage, {
    kind: "extra",
    label: body.description,
    scopes: body.scopes,
    expiresAt: expiryOfLifetime(body.lifetime),
    creatorUa: printableOnly(c.req.header("user-agent") ?? "").slice(0, 256) || null,
  });
  const { key, secret } = await createApiKey(c.get("db"), c.get("config"), actorOf(c), user, input);
  return c.json({ ...apiKeyView(key), apiKey: secret }, 201);
};

export const resetBuiltin: RouteHandler<typeof resetBuiltinRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  const { key, secret } = await resetBuiltinApiKey(c.get("db"), c.get("config"), actorOf(c), user, lineage);
  return c.json({ ...apiKeyView(key), apiKey: secret }, 201);
};

export const revoke: RouteHandler<typeof revokeRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  await revokeApiKey(c.get("db"), actorOf(c), user, c.req.valid("param").id, lineage);
  return c.body(null, 204);
};

export const rotate: RouteHandler<typeof rotateRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  const db = c.get("db");
  const { id } = c.req.valid("param");
  const { gracePeriodSeconds } = c.req.valid("json");
  const { key, secret } = await rotateApiKey(db, c.get("config"), actorOf(c), user, lineage, id, gracePeriodSeconds);
  const deprecated = await liveDeprecatedSecrets(db, "apiKeyId", [key.id]);
  return c.json({ ...apiKeyView(key, deprecated.get(key.id)), apiKey: secret }, 201);
};

export const endDeprecated: RouteHandler<typeof endDeprecatedRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  const db = c.get("db");
  const { id, secretId } = c.req.valid("param");
  const refusal = await apiKeyRotationRefusal(db, lineage, id, "end");
  if (refusal) throw forbidden(refusal);
  await endDeprecatedSecret(db, actorOf(c), "apiKeyId", { id, ownerId: user.id, owned: ownedApiKey(id, user.id) }, secretId);
  return c.body(null, 204);
};
