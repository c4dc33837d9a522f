import type { RouteHandler } from "@hono/zod-openapi";
import { currentUser } from "../../auth/authenticate";
import { actorOf } from "../../auth/request";
import { mayChangePasswordOf } from "../../domain/access";
import type { AppEnv } from "../../env";
import { forbidden } from "../../errors";

const KEY_SETS_OWN_PASSWORD = "Only the password itself or a browser session can change the password, not a key";

import { createUser, deleteUser, getUser, listUsers, updateUser, userView } from "../../services/users";
import type {
  changePasswordRoute,
  createUserRoute,
  currentUserRoute,
  deleteUserRoute,
  getUserRoute,
  listUsersRoute,
  updateUserRoute,
} from "./users.routes";

export const list: RouteHandler<typeof listUsersRoute, AppEnv> = async (c) => {
  const users = await listUsers(c.get("db"));
  return c.json({ users: users.map(userView) }, 200);
};

export const create: RouteHandler<typeof createUserRoute, AppEnv> = async (c) => {
  const { user, generatedPassword } = await createUser(c.get("db"), c.get("config"), actorOf(c), c.req.valid("json"));
  return c.json({ ...userView(user), ...(generatedPassword ? { password: generatedPassword } : {}) }, 200);
};

export const get: RouteHandler<typeof getUserRoute, AppEnv> = async (c) => {
  const user = await getUser(c.get("db"), c.req.valid("param").username);
  return c.json(userView(user), 200);
};

export const update: RouteHandler<typeof updateUserRoute, AppEnv> = async (c) => {
  const changes = c.req.valid("json");
  const username = c.req.valid("param").username;
  const principal = currentUser(c);
  if (
    changes.password !== undefined &&
    username === principal.user.username &&
    !mayChangePasswordOf(principal, principal.user.id)
  ) {
    throw forbidden(KEY_SETS_OWN_PASSWORD);
  }
  // A superuser changing their own password through a session keeps that session (PUT /api/v1/user/ does too).
  const keep = principal.lineage.kind === "session" && username === principal.user.username ? principal.lineage.id : undefined;
  const user = await updateUser(c.get("db"), c.get("config"), actorOf(c), username, changes, { keepSessionId: keep });
  return c.json(userView(user), 200);
};

export const remove: RouteHandler<typeof deleteUserRoute, AppEnv> = async (c) => {
  await deleteUser(c.get("db"), actorOf(c), c.req.valid("param").username);
  return c.body(null, 204);
};

export const me: RouteHandler<typeof currentUserRoute, AppEnv> = async (c) => {
  const principal = currentUser(c);
  return c.json({ ...userView(principal.user), anonymous: false, authenticated_by: principal.lineage.kind }, 200);
};

export const changePassword: RouteHandler<typeof changePasswordRoute, AppEnv> = async (c) => {
  const { user, lineage } = currentUser(c);
  if (!mayChangePasswordOf(currentUser(c), user.id)) throw forbidden(KEY_SETS_OWN_PASSWORD);
  const keep = lineage.kind === "session" ? lineage.id : undefined;
  const updated = await updateUser(c.get("db"), c.get("config"), actorOf(c), user.username, c.req.valid("json"), {
    keepSessionId: keep,
  });
  return c.json({ ...userView(updated), anonymous: false, authenticated_by: lineage.kind }, 200);
};
