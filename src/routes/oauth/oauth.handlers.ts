import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../auth/request";
import type { AppEnv } from "../../env";
import { ApiError, OAuthError } from "../../errors";
import { introspect, revokePresented } from "../../services/introspection";
import type { introspectRoute, revokeRoute } from "./oauth.routes";

/** RFC 6749 §5.2: a client that did not authenticate is an invalid_client, with a challenge. */
const invalidClient = () =>
  new ApiError("unauthorized", "Authenticate with a keyward credential to introspect", {
    "WWW-Authenticate": 'Basic realm="keyward", charset="UTF-8"',
  });

export const introspectHandler: RouteHandler<typeof introspectRoute, AppEnv> = async (c) => {
  const caller = c.get("principal");
  if (!caller) throw invalidClient();
  const { token } = c.req.valid("form");
  return c.json(await introspect(c.get("db"), c.get("config"), caller, token), 200);
};

export const revokeHandler: RouteHandler<typeof revokeRoute, AppEnv> = async (c) => {
  const { token } = c.req.valid("form");
  const outcome = await revokePresented(c.get("db"), c.get("config"), actorOf(c), token);
  if (outcome === "access_token") {
    throw new OAuthError(
      "unsupported_token_type",
      "bad_request",
      "Access tokens cannot be revoked: registries verify them offline, and they expire within minutes",
    );
  }
  return c.body(null, 200);
};
