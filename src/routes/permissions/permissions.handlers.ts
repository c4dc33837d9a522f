import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../auth/request";
import type { AppEnv } from "../../env";
import { listGrants, listPublicRepositories, removeGrant, setGrant, setPublic } from "../../services/permissions";
import { getUser } from "../../services/users";
import type {
  listGrantsRoute,
  listPublicRoute,
  makePrivateRoute,
  makePublicRoute,
  removeGrantRoute,
  setGrantRoute,
} from "./permissions.routes";

export const list: RouteHandler<typeof listGrantsRoute, AppEnv> = async (c) => {
  const user = await getUser(c.get("db"), c.req.valid("param").username);
  const grants = await listGrants(c.get("db"), user.id);
  return c.json(
    { permissions: grants.map((g) => ({ repository: g.pattern, role: g.role, created: g.createdAt.toISOString() })) },
    200,
  );
};

export const set: RouteHandler<typeof setGrantRoute, AppEnv> = async (c) => {
  const { repository, role } = c.req.valid("json");
  const user = await getUser(c.get("db"), c.req.valid("param").username);
  await setGrant(c.get("db"), actorOf(c), user, repository, role);
  return c.json({ repository, role }, 200);
};

export const remove: RouteHandler<typeof removeGrantRoute, AppEnv> = async (c) => {
  const user = await getUser(c.get("db"), c.req.valid("param").username);
  await removeGrant(c.get("db"), actorOf(c), user, c.req.valid("query").repository);
  return c.body(null, 204);
};

export const listPublic: RouteHandler<typeof listPublicRoute, AppEnv> = async (c) => {
  const rows = await listPublicRepositories(c.get("db"));
  return c.json({ repositories: rows.map((r) => r.pattern) }, 200);
};

export const makePublic: RouteHandler<typeof makePublicRoute, AppEnv> = async (c) => {
  const { repository } = c.req.valid("json");
  await setPublic(c.get("db"), actorOf(c), repository, true);
  return c.json({ repository }, 200);
};

export const makePrivate: RouteHandler<typeof makePrivateRoute, AppEnv> = async (c) => {
  await setPublic(c.get("db"), actorOf(c), c.req.valid("query").repository, false);
  return c.body(null, 204);
};
