import type { Hono } from "hono";
import { z } from "zod";
import { actorOf } from "../auth/request";
import { assertCsrf, clearSessionCookie, readSessionCookie } from "../auth/session";
import { endAllSessions, refreshSignIn } from "../credentials/sessions";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { checkPassword, signIn } from "../routes/session/session.handlers";
import { type ConsoleContext, csrfOf, formOf, page, requireSignedIn, safeNext, signedIn } from "./context";
import { CsrfField } from "./ui";

const SigninForm = z.object({
  username: z.string().trim().min(1).max(256),
  password: z.string().min(1).max(1024),
  next: z.string().optional(),
});

async function signinPage(c: ConsoleContext, next: string, error?: string, status: 200 | 403 | 429 = 200, username = "") {
  return page(
    c,
    "Sign in",
    <form method="post" action="/console/signin">
      {error && (
        <p class="notice warning" role="alert">
          {error}
        </p>
      )}
      <CsrfField token={await csrfOf(c)} />
      <input type="hidden" name="next" value={next} />
      <label for="username">Username</label>
      <input id="username" name="username" type="text" autocomplete="username" required autofocus={!username} value={username} />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required autofocus={!!username} />
      <div class="actions">
        <button type="submit">Sign in</button>
      </div>
    </form>,
    status,
  );
}

/** Sign-in failures in the page's words; throttling keeps its Retry-After. */
function failure(err: unknown): { message: string; status: 403 | 429 } {
  if (err instanceof ApiError && err.code === "rate_limited") {
    return { message: `Too many failed sign-in attempts. Try again in ${err.headers["Retry-After"]} seconds.`, status: 429 };
  }
  if (err instanceof ApiError && err.code === "forbidden") return { message: "Wrong username or password.", status: 403 };
  throw err;
}

export function authPages(app: Hono<AppEnv>) {
  app.get("/signin", (c) => {
    if (c.get("principal")) return c.redirect(safeNext(c.req.query("next")), 303);
    return signinPage(c, safeNext(c.req.query("next")));
  });

  app.post("/signin", async (c) => {
    await assertCsrf(c, readSessionCookie(c));
    const parsed = SigninForm.safeParse(await formOf(c));
    const next = safeNext(parsed.data?.next);
    if (!parsed.success) return signinPage(c, next, "Enter a username and a password.", 403);
    try {
      const principal = await checkPassword(c, parsed.data.username, parsed.data.password, "Invalid username or password");
      await signIn(c, principal);
    } catch (err) {
      const { message, status } = failure(err);
      return signinPage(c, next, message, status, parsed.data.username);
    }
    return c.redirect(next, 303);
  });

  app.post("/signout", async (c) => {
    const principal = c.get("principal");
    if (principal) await endAllSessions(c.get("db"), actorOf(c), principal.user.id);
    // A cross-site POST arrives without the cookie (SameSite=Lax): nothing to clear, nothing cleared.
    if (readSessionCookie(c)) clearSessionCookie(c);
    return c.redirect("/console/signin", 303);
  });

  app.get("/verify", requireSignedIn, async (c) => verifyPage(c, safeNext(c.req.query("next"))));

  app.post("/verify", requireSignedIn, async (c) => {
    const form = await formOf(c);
    const next = safeNext(form.next);
    const { user, lineage } = signedIn(c);
    try {
      await checkPassword(c, user.username, form.password ?? "", "Invalid password");
    } catch (err) {
      const { message, status } = failure(err);
      return verifyPage(c, next, message === "Wrong username or password." ? "Wrong password." : message, status);
    }
    if (lineage.kind === "session") await refreshSignIn(c.get("db"), actorOf(c), lineage.id, user.id);
    return c.redirect(next, 303);
  });
}

async function verifyPage(c: ConsoleContext, next: string, error?: string, status: 200 | 403 | 429 = 200) {
  return page(
    c,
    "Confirm your password",
    <form method="post" action="/console/verify">
      <p>This action needs a recent sign-in. Enter your password to continue.</p>
      {error && (
        <p class="notice warning" role="alert">
          {error}
        </p>
      )}
      <CsrfField token={await csrfOf(c)} />
      <input type="hidden" name="next" value={next} />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required autofocus />
      <div class="actions">
        <button type="submit">Continue</button>
      </div>
    </form>,
    status,
  );
}
