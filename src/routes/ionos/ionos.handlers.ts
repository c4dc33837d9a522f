import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { currentUser } from "../../auth/authenticate";
import { actorOf } from "../../auth/request";
import { freshLoginRequired, isFresh } from "../../auth/session";
import type { Registry, RegistryToken } from "../../db/schema";
import type { AppEnv } from "../../env";
import { createRegistry, deleteRegistry, getManagedRegistry, listRegistries, updateRegistry } from "../../services/registries";
import {
  createToken,
  deleteToken,
  getToken,
  listTokens,
  patchToken,
  replaceToken,
  type TokenFields,
} from "../../services/registryTokens";
import {
  type DeprecatedView,
  endDeprecatedSecret,
  liveDeprecatedSecrets,
  ownedRegistryToken,
  rotateRegistryToken,
} from "../../services/rotation";
import type * as routes from "./ionos.routes";

const iso = (d: Date | null) => d?.toISOString() ?? null;

function registryView(r: Registry) {
  return {
    id: r.id,
    type: "registry" as const,
    href: `/registries/${r.id}`,
    metadata: {
      createdBy: r.createdBy,
      createdDate: r.createdAt.toISOString(),
      ...(r.updatedAt ? { lastModifiedBy: r.updatedBy, lastModifiedDate: r.updatedAt.toISOString() } : {}),
      state: "Running",
    },
    properties: { name: r.name, hostname: r.hostname },
  };
}

/** IONOS's token object; the password is "" except in the response that set it. */
function tokenView(t: RegistryToken, password = "", deprecatedSecrets: DeprecatedView[] = []) {
  return {
    id: t.id,
    type: "token" as const,
    href: `/registries/${t.registryId}/tokens/${t.id}`,
    metadata: {
      createdBy: t.createdBy,
      createdByUserId: t.createdByUserId,
      createdDate: t.createdAt.toISOString(),
      ...(t.updatedAt
        ? { lastModifiedBy: t.updatedBy, lastModifiedByUserId: t.updatedByUserId, lastModifiedDate: t.updatedAt.toISOString() }
        : {}),
      state: "Ready",
      lastUsed: iso(t.lastUsedAt), // keyward extensions
      lastUsedIp: t.lastUsedIp,
      deprecatedSecrets,
    },
    properties: {
      name: t.name,
      credentials: { username: t.name, password },
      expiryDate: iso(t.expiresAt),
      scopes: t.scopes as TokenFields["scopes"],
      status: t.status,
    },
  };
}

function tokenFields(p: {
  expiryDate?: string | null;
  scopes?: TokenFields["scopes"];
  status?: TokenFields["status"];
}): TokenFields {
  return { expiresAt: p.expiryDate ? new Date(p.expiryDate) : null, scopes: p.scopes ?? [], status: p.status ?? "enabled" };
}

const managed = (c: Context<AppEnv>, registryId: string) => getManagedRegistry(c.get("db"), currentUser(c), registryId);

export const listRegistriesHandler: RouteHandler<typeof routes.listRegistriesRoute, AppEnv> = async (c) => {
  const items = (await listRegistries(c.get("db"), currentUser(c))).map(registryView);
  return c.json(
    {
      id: "registries",
      type: "collection" as const,
      href: "/registries",
      items,
      offset: 0,
      limit: items.length,
      count: items.length,
      total: items.length,
      _links: { self: "/registries" },
    },
    200,
  );
};

export const createRegistryHandler: RouteHandler<typeof routes.createRegistryRoute, AppEnv> = async (c) => {
  const { properties } = c.req.valid("json");
  const registry = await createRegistry(c.get("db"), c.get("config"), actorOf(c), currentUser(c), {
    name: properties.name,
    hostname: properties.hostname ?? `${properties.name}.${c.get("config").registryDomain}`,
  });
  c.header("Location", new URL(`/registries/${registry.id}`, c.req.url).toString());
  return c.json(registryView(registry), 201);
};

export const getRegistryHandler: RouteHandler<typeof routes.getRegistryRoute, AppEnv> = async (c) => {
  return c.json(registryView(await managed(c, c.req.valid("param").registryId)), 200);
};

export const patchRegistryHandler: RouteHandler<typeof routes.patchRegistryRoute, AppEnv> = async (c) => {
  const registry = await managed(c, c.req.valid("param").registryId);
  const { hostname } = c.req.valid("json").properties;
  return c.json(
    registryView(await updateRegistry(c.get("db"), c.get("config"), actorOf(c), currentUser(c), registry, { hostname })),
    200,
  );
};

export const deleteRegistryHandler: RouteHandler<typeof routes.deleteRegistryRoute, AppEnv> = async (c) => {
  await deleteRegistry(c.get("db"), actorOf(c), await managed(c, c.req.valid("param").registryId));
  return c.body(null, 204);
};

export const listTokensHandler: RouteHandler<typeof routes.listTokensRoute, AppEnv> = async (c) => {
  const registry = await managed(c, c.req.valid("param").registryId);
  const query = c.req.valid("query");
  const offset = Number(query.offset);
  const limit = Number(query.limit);
  const { items, total } = await listTokens(c.get("db"), registry, { offset, limit, after: query.after });
  const deprecated = await liveDeprecatedSecrets(
    c.get("db"),
    "registryTokenId",
    items.map((t) => t.id),
  );
  const base = `/registries/${registry.id}/tokens`;
  const link = (o: number) => `${base}?offset=${o}&limit=${limit}`;
  const links: { previous?: string; self: string; next?: string } = {
    self: query.after ? `${base}?after=${query.after}&limit=${limit}` : link(offset),
  };
  if (query.after) {
    if (items.length === limit && limit > 0) links.next = `${base}?after=${items.at(-1)!.name}&limit=${limit}`;
  } else {
    if (offset > 0) links.previous = link(Math.max(0, offset - Math.max(limit, 1)));
    if (limit > 0 && offset + limit < total) links.next = link(offset + limit);
  }
  return c.json(
    {
      id: `${registry.id}/tokens`,
      type: "collection" as const,
      href: base,
      items: items.map((t) => tokenView(t, "", deprecated.get(t.id))),
      offset: query.after ? 0 : offset,
      limit,
      count: items.length,
      total,
      _links: links,
    },
    200,
  );
};

export const createTokenHandler: RouteHandler<typeof routes.createTokenRoute, AppEnv> = async (c) => {
  const registry = await managed(c, c.req.valid("param").registryId);
  const { properties } = c.req.valid("json");
  const { token, password } = await createToken(c.get("db"), c.get("config"), actorOf(c), currentUser(c), registry, {
    name: properties.name,
    ...tokenFields(properties),
  });
  c.header("Location", new URL(`/registries/${registry.id}/tokens/${token.id}`, c.req.url).toString());
  return c.json(tokenView(token, password), 201);
};

export const getTokenHandler: RouteHandler<typeof routes.getTokenRoute, AppEnv> = async (c) => {
  const { registryId, tokenId } = c.req.valid("param");
  const token = await getToken(c.get("db"), await managed(c, registryId), tokenId.toLowerCase());
  const deprecated = await liveDeprecatedSecrets(c.get("db"), "registryTokenId", [token.id]);
  return c.json(tokenView(token, "", deprecated.get(token.id)), 200);
};

export const putTokenHandler: RouteHandler<typeof routes.putTokenRoute, AppEnv> = async (c) => {
  const { registryId, tokenId } = c.req.valid("param");
  const registry = await managed(c, registryId);
  const { properties } = c.req.valid("json");
  const input = { name: properties.name, ...tokenFields(properties) };
  const db = c.get("db");
  const existing = await getToken(db, registry, tokenId.toLowerCase()).catch(() => null);
  if (existing) {
    const { token, password } = await replaceToken(db, c.get("config"), actorOf(c), currentUser(c), existing, input);
    return c.json(tokenView(token, password), 200);
  }
  const { token, password } = await createToken(db, c.get("config"), actorOf(c), currentUser(c), registry, {
    ...input,
    id: tokenId.toLowerCase(),
  });
  c.header("Location", new URL(`/registries/${registry.id}/tokens/${token.id}`, c.req.url).toString());
  return c.json(tokenView(token, password), 201);
};

export const patchTokenHandler: RouteHandler<typeof routes.patchTokenRoute, AppEnv> = async (c) => {
  const { registryId, tokenId } = c.req.valid("param");
  const existing = await getToken(c.get("db"), await managed(c, registryId), tokenId.toLowerCase());
  const body = c.req.valid("json");
  const changes: Partial<TokenFields> = {};
  if (body.expiryDate !== undefined) changes.expiresAt = body.expiryDate === null ? null : new Date(body.expiryDate);
  if (body.scopes !== undefined) changes.scopes = body.scopes;
  if (body.status !== undefined) changes.status = body.status;
  // Disabling needs no fresh login (an end, never a widening); any other change does.
  const onlyDisables = Object.keys(changes).length === 1 && changes.status === "disabled";
  if (!onlyDisables && !isFresh(c, currentUser(c))) throw freshLoginRequired(c);
  return c.json(tokenView(await patchToken(c.get("db"), actorOf(c), currentUser(c), existing, changes)), 200);
};

export const deleteTokenHandler: RouteHandler<typeof routes.deleteTokenRoute, AppEnv> = async (c) => {
  const { registryId, tokenId } = c.req.valid("param");
  const existing = await getToken(c.get("db"), await managed(c, registryId), tokenId.toLowerCase());
  await deleteToken(c.get("db"), actorOf(c), existing);
  return c.body(null, 204);
};

export const rotateTokenHandler: RouteHandler<typeof routes.rotateTokenRoute, AppEnv> = async (c) => {
  const { registryId, tokenId } = c.req.valid("param");
  const db = c.get("db");
  const existing = await getToken(db, await managed(c, registryId), tokenId.toLowerCase());
  const { gracePeriodSeconds } = c.req.valid("json");
  const { token, password } = await rotateRegistryToken(
    db,
    c.get("config"),
    actorOf(c),
    currentUser(c),
    existing,
    gracePeriodSeconds,
  );
  const deprecated = await liveDeprecatedSecrets(db, "registryTokenId", [token.id]);
  return c.json(tokenView(token, password, deprecated.get(token.id)), 201);
};

export const endDeprecatedHandler: RouteHandler<typeof routes.endDeprecatedRoute, AppEnv> = async (c) => {
  const { registryId, tokenId, secretId } = c.req.valid("param");
  const db = c.get("db");
  const token = await getToken(db, await managed(c, registryId), tokenId.toLowerCase());
  const credential = { id: token.id, ownerId: token.createdByUserId, owned: ownedRegistryToken(token) };
  await endDeprecatedSecret(db, actorOf(c), "registryTokenId", credential, secretId.toLowerCase());
  return c.body(null, 204);
};
