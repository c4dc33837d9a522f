import { Hono } from "hono";
import { NONCE, secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { accountPages } from "./account";
import { adminPages } from "./admin";
import { authPages } from "./auth";
import { loadSession, requireSignedIn } from "./context";

/**
 * The web console (SPEC §4.7): server-rendered pages on the same Worker, signed in with the
 * session cookie, every form carrying the CSRF token. Each response sends a CSP that allows
 * only its own nonce'd style and script: no third-party assets, no inline handlers.
 */
export function consoleRouter() {
  const app = new Hono<AppEnv>({ strict: false });
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: [NONCE],
        scriptSrc: [NONCE],
        imgSrc: ["'self'"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: "same-origin",
    }),
  );
  app.use(loadSession);
  authPages(app);
  app.use(requireSignedIn);
  accountPages(app);
  adminPages(app);
  return app;
}

/** A browser asking for `/` is sent to the console; API clients get the usual JSON 404. */
export function browserRoot() {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => {
    if ((c.req.header("accept") ?? "").includes("text/html")) return c.redirect("/console", 302);
    throw new ApiError("not_found", "No route for GET /");
  });
  return app;
}
