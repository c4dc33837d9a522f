import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf } from "../../auth/request";
import { revokeLeaked } from "../../credentials/leaks";
import { SECRET_NAMES, SECRET_PREFIXES, scanPattern } from "../../crypto/secrets";
import type { AppEnv } from "../../env";
import type { reportLeakRoute, secretPatternsRoute } from "./leaks.routes";

const ACCEPTED = "Every listed keyward secret that exists has been revoked.";

export const reportLeakHandler: RouteHandler<typeof reportLeakRoute, AppEnv> = async (c) => {
  const { credentials } = c.req.valid("json");
  await revokeLeaked(c.env.DB, c.get("config"), actorOf(c), credentials);
  return c.json({ message: ACCEPTED }, 202);
};

export const secretPatternsHandler: RouteHandler<typeof secretPatternsRoute, AppEnv> = async (c) => {
  // The configured public origin: a Host header must not steer where scanners send secrets.
  const revokeUrl = `${c.get("config").publicUrl ?? new URL(c.req.url).origin}/credentials/revoke`;
  c.header("Cache-Control", "public, max-age=86400");
  return c.json(
    {
      issuer: c.get("config").issuer,
      revokeUrl,
      patterns: SECRET_PREFIXES.map((prefix) => ({ prefix, name: SECRET_NAMES[prefix], regex: scanPattern(prefix), revokeUrl })),
    },
    200,
  );
};
