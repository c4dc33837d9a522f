import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireSuperuser, requireUser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { isPasswordText, PASSWORD_TEXT_MESSAGE } from "../../crypto/password";
import { USERNAME_PATTERN } from "../../services/users";
import { basicOrBearer, conflictError, jsonBody, jsonResponse, keyApiBodyLimit, notFoundError, standardErrors } from "../common";

const tags = ["Users (Quay API v1)"];

const Username = z.string().regex(USERNAME_PATTERN, "must be 2-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit");
const Password = z.string().min(8, "must be at least 8 characters").max(1024).refine(isPasswordText, PASSWORD_TEXT_MESSAGE);
const Email = z.email().max(254);

export const UserView = z
  .object({
    username: z.string(),
    email: z.string().nullable(),
    verified: z.boolean(),
    super_user: z.boolean(),
    enabled: z.boolean(),
    created: z.string(),
    last_login: z.string().nullable(),
  })
  .openapi("User");

const UsernameParam = z.object({ username: Username.openapi({ param: { name: "username", in: "path" } }) });

export const CreateUserBody = z
  .object({
    username: Username,
    email: Email.nullish(),
    password: Password.optional().openapi({ description: "Omit to have one generated and returned once" }),
    superuser: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .openapi("CreateUser");

export const UpdateUserBody = z
  .object({
    email: Email.nullish(),
    password: Password.optional(),
    enabled: z.boolean().optional(),
    superuser: z.boolean().optional(),
  })
  .strict()
  .openapi("UpdateUser");

const superuserOnly = [authenticate, requireSuperuser];

export const listUsersRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/users",
  tags,
  summary: "List users",
  security: basicOrBearer,
  middleware: superuserOnly,
  responses: { 200: jsonResponse(z.object({ users: z.array(UserView) }), "All users"), ...standardErrors },
});

export const createUserRoute = createRoute({
  method: "post",
  path: "/api/v1/superuser/users",
  tags,
  summary: "Create a user",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: { body: jsonBody(CreateUserBody) },
  responses: {
    200: jsonResponse(
      UserView.extend({ password: z.string().optional().openapi({ description: "Only when generated" }) }),
      "The new user (Quay answers 200)",
    ),
    ...standardErrors,
    ...conflictError,
  },
});

export const getUserRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/users/{username}",
  tags,
  summary: "Get a user",
  security: basicOrBearer,
  middleware: superuserOnly,
  request: { params: UsernameParam },
  responses: { 200: jsonResponse(UserView, "The user"), ...standardErrors, ...notFoundError },
});

export const updateUserRoute = createRoute({
  method: "put",
  path: "/api/v1/superuser/users/{username}",
  tags,
  summary: "Update a user (password, email, enabled, superuser)",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: { params: UsernameParam, body: jsonBody(UpdateUserBody) },
  responses: { 200: jsonResponse(UserView, "The updated user"), ...standardErrors, ...notFoundError },
});

export const deleteUserRoute = createRoute({
  method: "delete",
  path: "/api/v1/superuser/users/{username}",
  tags,
  summary: "Delete a user and every credential it owns",
  security: basicOrBearer,
  middleware: [...superuserOnly, requireFreshLogin],
  request: { params: UsernameParam },
  responses: { 204: { description: "Deleted" }, ...standardErrors, ...notFoundError },
});

export const currentUserRoute = createRoute({
  method: "get",
  path: "/api/v1/user",
  tags,
  summary: "The caller",
  security: basicOrBearer,
  middleware: [authenticate, requireUser],
  responses: {
    200: jsonResponse(UserView.extend({ anonymous: z.boolean(), authenticated_by: z.string() }), "The caller"),
    ...standardErrors,
  },
});

export const changePasswordRoute = createRoute({
  method: "put",
  path: "/api/v1/user",
  tags,
  summary: "Change the caller's own password (Quay's PUT /api/v1/user/)",
  description:
    "With the password itself or a browser session (fresh login), never with an API key. Ends the refresh tokens the old password minted and every other session.",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, authenticate, requireUser, requireFreshLogin],
  request: { body: jsonBody(z.object({ password: Password }).strict().openapi("ChangePassword")) },
  responses: {
    200: jsonResponse(UserView.extend({ anonymous: z.boolean(), authenticated_by: z.string() }), "The caller"),
    ...standardErrors,
  },
});
