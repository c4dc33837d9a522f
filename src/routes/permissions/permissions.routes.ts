import { createRoute, z } from "@hono/zod-openapi";
import { authenticate, requireSuperuser } from "../../auth/authenticate";
import { requireFreshLogin } from "../../auth/session";
import { USERNAME_PATTERN } from "../../domain/names";
import { ROLES } from "../../services/permissions";
import { basicOrBearer, jsonBody, jsonResponse, keyApiBodyLimit, notFoundError, RepositoryGlob, standardErrors } from "../common";

const tags = ["Repository permissions"];
const superuserOnly = [authenticate, requireSuperuser];
const UsernameParam = z.object({
  username: z
    .string()
    .regex(USERNAME_PATTERN, "not a valid username")
    .openapi({ param: { name: "username", in: "path" } }),
});
const Grant = z.object({ repository: z.string(), role: z.enum(ROLES), created: z.string() }).openapi("Grant");

export const listGrantsRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/users/{username}/permissions",
  tags,
  summary: "A user's repository grants (besides admin on <username>/*)",
  security: basicOrBearer,
  middleware: superuserOnly,
  request: { params: UsernameParam },
  responses: { 200: jsonResponse(z.object({ permissions: z.array(Grant) }), "Grants"), ...standardErrors, ...notFoundError },
});

export const setGrantRoute = createRoute({
  method: "put",
  path: "/api/v1/superuser/users/{username}/permissions",
  tags,
  summary: "Grant read (pull), write (pull+push) or admin (pull+push+delete) on a repository or glob",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: {
    params: UsernameParam,
    body: jsonBody(
      z
        .object({ repository: RepositoryGlob, role: z.enum(ROLES) })
        .strict()
        .openapi("SetGrant"),
    ),
  },
  responses: {
    200: jsonResponse(z.object({ repository: z.string(), role: z.enum(ROLES) }), "The grant"),
    ...standardErrors,
    ...notFoundError,
  },
});

export const removeGrantRoute = createRoute({
  method: "delete",
  path: "/api/v1/superuser/users/{username}/permissions",
  tags,
  summary: "Remove a grant",
  security: basicOrBearer,
  middleware: [...superuserOnly, requireFreshLogin],
  request: { params: UsernameParam, query: z.object({ repository: RepositoryGlob }).strict() },
  responses: { 204: { description: "Removed" }, ...standardErrors, ...notFoundError },
});

export const listPublicRoute = createRoute({
  method: "get",
  path: "/api/v1/superuser/public-repositories",
  tags,
  summary: "Repositories (names or globs) anyone may pull",
  security: basicOrBearer,
  middleware: superuserOnly,
  responses: { 200: jsonResponse(z.object({ repositories: z.array(z.string()) }), "Public repositories"), ...standardErrors },
});

export const makePublicRoute = createRoute({
  method: "post",
  path: "/api/v1/superuser/public-repositories",
  tags,
  summary: "Let anyone pull a repository or glob",
  security: basicOrBearer,
  middleware: [keyApiBodyLimit, ...superuserOnly, requireFreshLogin],
  request: { body: jsonBody(z.object({ repository: RepositoryGlob }).strict().openapi("PublicRepository")) },
  responses: { 200: jsonResponse(z.object({ repository: z.string() }), "Now public"), ...standardErrors },
});

export const makePrivateRoute = createRoute({
  method: "delete",
  path: "/api/v1/superuser/public-repositories",
  tags,
  summary: "Make a repository or glob private again",
  security: basicOrBearer,
  middleware: superuserOnly,
  request: { query: z.object({ repository: RepositoryGlob }).strict() },
  responses: { 204: { description: "Private again" }, ...standardErrors, ...notFoundError },
});
