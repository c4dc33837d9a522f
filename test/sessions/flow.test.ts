import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { basic, bearer, call, createKey, createUser, json } from "../helpers";
import { Browser } from "./support";

/* Quay's session flow (SPEC §4.6): /csrf_token → /api/v1/signin → the cookie. */

const CSRF_REFUSAL = { error: "CSRF token was invalid or missing." };

describe("Quay's sign-in flow", () => {
  it("works as the seed's curl does: csrf_token, signin, then /api/v1/user/ with the cookie", async () => {
    const user = await createUser();
    const browser = new Browser();
    const token = await (await browser.fetch("/csrf_token")).json<any>();
    expect(token.csrf_token).toMatch(/^[0-9a-f]{64}$/);
    const signin = await browser.fetch("/api/v1/signin", {
      method: "POST",
      headers: { "x-csrf-token": token.csrf_token, "x-requested-with": "XMLHttpRequest" },
      json: { username: user.username, password: user.password },
    });
    expect(await json(signin, 200)).toEqual({ success: true });
    expect(signin.headers.get("x-next-csrf-token")).toMatch(/^[0-9a-f]{64}$/);
    expect(browser.session).toMatch(/^kss_/);
    const me = await json(await browser.fetch("/api/v1/user/"), 200);
    expect(me).toMatchObject({ username: user.username, authenticated_by: "session" });
  });

  it("sets the cookie HttpOnly, Secure, SameSite=Lax, Path=/ under a __Host- name", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const line = browser.setCookies.get("__Host-keyward_session")!;
    expect(line).toMatch(/HttpOnly/);
    expect(line).toMatch(/Secure/);
    expect(line).toMatch(/SameSite=Lax/);
    expect(line).toMatch(/Path=\//);
    expect(line).not.toMatch(/Domain=/i);
  });

  it("refuses a sign-in without the CSRF token, or with another browser's", async () => {
    const user = await createUser();
    const browser = new Browser();
    const missing = await browser.fetch("/api/v1/signin", {
      method: "POST",
      json: { username: user.username, password: user.password },
    });
    expect(await json(missing, 403)).toEqual(CSRF_REFUSAL);
    const other = new Browser();
    const { csrf_token } = await (await other.fetch("/csrf_token")).json<any>();
    await browser.fetch("/csrf_token");
    const foreign = await browser.fetch("/api/v1/signin", {
      method: "POST",
      headers: { "x-csrf-token": csrf_token },
      json: { username: user.username, password: user.password },
    });
    expect(await json(foreign, 403)).toEqual(CSRF_REFUSAL);
    expect(browser.session).toBeUndefined();
  });

  it("answers a wrong password with Quay's body, the same as an unknown user", async () => {
    const user = await createUser();
    for (const [username, password] of [
      [user.username, "wrong-password"],
      ["no-such-user", "wrong-password"],
    ]) {
      const browser = new Browser();
      const { csrf_token } = await (await browser.fetch("/csrf_token")).json<any>();
      const response = await browser.fetch("/api/v1/signin", {
        method: "POST",
        headers: { "x-csrf-token": csrf_token },
        json: { username, password },
      });
      expect(await json(response, 403)).toEqual({
        needsEmailVerification: false,
        invalidCredentials: true,
        message: "Invalid username or password",
      });
    }
  });

  it("is throttled exactly like Basic sign-in (the same counters)", async () => {
    const user = await createUser();
    const browser = new Browser();
    const { csrf_token } = await (await browser.fetch("/csrf_token")).json<any>();
    // Ten Basic failures from this address, then the session sign-in is locked too.
    for (let i = 0; i < 10; i++) {
      await call("/api/v1/user/", { auth: basic(user.username, "wrong"), headers: { "cf-connecting-ip": browser.ip } });
    }
    const response = await browser.fetch("/api/v1/signin", {
      method: "POST",
      headers: { "x-csrf-token": csrf_token },
      json: { username: user.username, password: user.password },
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("takes a password only: an API key signing in would shed its scopes", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user, { label: "scoped", scopes: [`${user.username}/app`] });
    const browser = new Browser();
    const { csrf_token } = await (await browser.fetch("/csrf_token")).json<any>();
    const response = await browser.fetch("/api/v1/signin", {
      method: "POST",
      headers: { "x-csrf-token": csrf_token },
      json: { username: user.username, password: apiKey },
    });
    expect(response.status).toBe(403);
    expect(browser.session).toBeUndefined();
  });

  it("gives a new session at every sign-in (no fixation); the browser's old session ends", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const first = browser.session!;
    await browser.signIn(user.username, user.password);
    expect(browser.session).not.toBe(first);
    const stale = new Browser();
    stale.cookies.set("__Host-keyward_session", first);
    expect((await stale.fetch("/api/v1/user/")).status).toBe(401);
  });

  it("a session secret is accepted only in the cookie, never as a Bearer or Basic credential", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    await json(await call("/api/v1/user/", { auth: bearer(browser.session!) }), 401);
    await json(await call("/api/v1/user/", { auth: basic(user.username, browser.session!) }), 401);
  });

  it("signout ends every session of the user, and clears the cookie", async () => {
    const user = await createUser();
    const laptop = new Browser();
    const phone = new Browser();
    const token = await laptop.signIn(user.username, user.password);
    await phone.signIn(user.username, user.password);
    expect(
      await json(await laptop.fetch("/api/v1/signout", { method: "POST", headers: { "x-csrf-token": token } }), 200),
    ).toEqual({
      success: true,
    });
    expect(laptop.session).toBeUndefined();
    expect((await phone.fetch("/api/v1/user/")).status).toBe(401);
  });

  it("a disabled user's session stops at once", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, {
        method: "PUT",
        auth: basic(env.KEYWARD_ADMIN_USER!, env.KEYWARD_ADMIN_PASSWORD!),
        json: { enabled: false },
      }),
      200,
    );
    expect((await browser.fetch("/api/v1/user/")).status).toBe(401);
  });
});

describe("CSRF on cookie-authenticated requests", () => {
  // [how it is sent, method, with the cookie, CSRF token, expected status]
  const table: [string, string, "cookie" | "basic" | "bearer", "none" | "wrong" | "header" | "form", number][] = [
    ["GET with the cookie, no token", "GET", "cookie", "none", 200],
    ["HEAD with the cookie, no token", "HEAD", "cookie", "none", 200],
    ["POST with the cookie, no token", "POST", "cookie", "none", 403],
    ["POST with the cookie, a wrong token", "POST", "cookie", "wrong", 403],
    ["POST with the cookie, the token in X-CSRF-Token", "POST", "cookie", "header", 201],
    ["POST with the cookie, the token as the _csrf_token form field", "POST", "cookie", "form", 201],
    ["POST with Basic, no token", "POST", "basic", "none", 201],
    ["POST with Bearer, no token", "POST", "bearer", "none", 201],
  ];
  it.each(table)("%s (%s, %s, token: %s) → %i", async (_name, method, auth, csrf, expected) => {
    const user = await createUser();
    const browser = new Browser();
    const token = await browser.signIn(user.username, user.password);
    const { apiKey } = await createKey(user, { label: "k" });
    const headers: Record<string, string> = {};
    let body: string | undefined;
    if (csrf === "header") headers["x-csrf-token"] = token;
    if (csrf === "wrong") headers["x-csrf-token"] = "0".repeat(64);
    if (csrf === "form") {
      headers["content-type"] = "application/x-www-form-urlencoded";
      body = `_csrf_token=${token}`;
    }
    if (auth !== "cookie") browser.cookies.clear();
    if (auth === "basic") headers.authorization = basic(user.username, user.password);
    if (auth === "bearer") headers.authorization = bearer(apiKey);
    const path = method === "POST" ? "/api/v1/user/apikeys/builtin" : "/api/v1/user/apikeys";
    const response = await browser.fetch(path, { method, headers, body });
    expect(response.status, await response.text()).toBe(expected);
    if (expected === 403) {
      expect(await (await browser.fetch(path, { method, headers, body })).json()).toEqual(CSRF_REFUSAL);
    }
  });
});

describe("fresh login", () => {
  // A configuration with a 1-second fresh-login window (its own env object: its own config).
  const shortEnv = { ...env, KEYWARD_FRESH_LOGIN_SECONDS: "1" };
  const fetchShort = async (request: Request) => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(request, shortEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };

  it("a sensitive action through a stale session is 401 with Quay's body; verify makes it fresh again", async () => {
    const user = await createUser();
    const browser = new Browser(fetchShort);
    const token = await browser.signIn(user.username, user.password);
    const create = () =>
      browser.fetch("/api/v1/user/apikeys", {
        method: "POST",
        headers: { "x-csrf-token": token },
        json: { description: "fresh", lifetime: 5 },
      });
    expect((await create()).status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const stale = await create();
    expect(await json(stale, 401)).toEqual({
      detail: "Requires fresh login",
      error_message: "Requires fresh login",
      error_type: "fresh_login_required",
      title: "fresh_login_required",
      type: "https://keyward.test/api/v1/error/fresh_login_required",
      status: 401,
      error: { code: "fresh_login_required", message: "Requires fresh login", requestId: expect.any(String) },
    });
    // Reading and revoking need no fresh login.
    expect((await browser.fetch("/api/v1/user/apikeys")).status).toBe(200);
    const wrong = await browser.fetch("/api/v1/signin/verify", {
      method: "POST",
      headers: { "x-csrf-token": token },
      json: { password: "wrong" },
    });
    expect(wrong.status).toBe(403);
    const verify = await browser.fetch("/api/v1/signin/verify", {
      method: "POST",
      headers: { "x-csrf-token": token },
      json: { password: user.password },
    });
    expect(await json(verify, 200)).toEqual({ success: true });
    expect((await create()).status).toBe(201);
  });

  it("Basic callers are never stale (they present their password every time)", async () => {
    const user = await createUser();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const response = await fetchShort(
      new Request("https://keyward.test/api/v1/user/apikeys", {
        method: "POST",
        headers: { authorization: basic(user.username, user.password), "content-type": "application/json" },
        body: JSON.stringify({ description: "basic", lifetime: 5 }),
      }),
    );
    expect(response.status).toBe(201);
  });
});

describe("the caller's sessions", () => {
  it("lists them (the current one marked, never a secret) and revokes one; others' are 404", async () => {
    const user = await createUser();
    const laptop = new Browser();
    const phone = new Browser();
    const token = await laptop.signIn(user.username, user.password);
    await phone.signIn(user.username, user.password);
    const { sessions } = await json(await laptop.fetch("/api/v1/user/sessions"), 200);
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s: any) => s.current)).toHaveLength(1);
    expect(JSON.stringify(sessions)).not.toContain("kss_");
    const phoneSession = sessions.find((s: any) => !s.current);
    const other = await createUser();
    await json(await call(`/api/v1/user/sessions/${phoneSession.id}`, { method: "DELETE", auth: other.auth }), 404);
    const revoked = await laptop.fetch(`/api/v1/user/sessions/${phoneSession.id}`, {
      method: "DELETE",
      headers: { "x-csrf-token": token },
    });
    expect(revoked.status).toBe(204);
    expect((await phone.fetch("/api/v1/user/")).status).toBe(401);
    expect((await laptop.fetch("/api/v1/user/")).status).toBe(200);
  });

  it("an idle session ends; the cron sweeps ended sessions", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    await env.DB.prepare("UPDATE sessions SET expires_at = ? WHERE user_id = (SELECT id FROM users WHERE username = ?)")
      .bind(Date.now() - 1000, user.username)
      .run();
    expect((await browser.fetch("/api/v1/user/")).status).toBe(401);
    // The stale cookie is cleared.
    expect(browser.session).toBeUndefined();
    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *", scheduledTime: Date.now() }), env);
    const left = await env.DB.prepare(
      "SELECT count(*) AS n FROM sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)",
    )
      .bind(user.username)
      .first<{ n: number }>();
    expect(left!.n).toBe(0);
  });
});

describe("changing one's own password (PUT /api/v1/user/)", () => {
  it("through a session: the other sessions end, this one stays; the old password stops", async () => {
    const user = await createUser();
    const laptop = new Browser();
    const phone = new Browser();
    const token = await laptop.signIn(user.username, user.password);
    await phone.signIn(user.username, user.password);
    const changed = await laptop.fetch("/api/v1/user/", {
      method: "PUT",
      headers: { "x-csrf-token": token },
      json: { password: "a-brand-new-password" },
    });
    expect(await json(changed, 200)).toMatchObject({ username: user.username, authenticated_by: "session" });
    expect((await laptop.fetch("/api/v1/user/")).status).toBe(200);
    expect((await phone.fetch("/api/v1/user/")).status).toBe(401);
    await json(await call("/api/v1/user/", { auth: basic(user.username, user.password) }), 401);
    await json(await call("/api/v1/user/", { auth: basic(user.username, "a-brand-new-password") }), 200);
  });

  it("never with an API key (a key would become the password and shed its scopes)", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user, { label: "k" });
    const response = await call("/api/v1/user/", {
      method: "PUT",
      auth: bearer(apiKey),
      json: { password: "another-password-1" },
    });
    expect((await json(response, 403)).error_message).toMatch(/not a key/);
  });

  it("without the CSRF token through a session: refused", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const response = await browser.fetch("/api/v1/user/", { method: "PUT", json: { password: "another-password-1" } });
    expect(await json(response, 403)).toEqual(CSRF_REFUSAL);
  });
});
