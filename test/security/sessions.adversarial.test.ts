import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { bearer, call, createKey, createUser, json, uniqueName } from "../helpers";
import { Browser } from "../sessions/support";

/*
 * The adversarial pass of issue 10 (sessions, CSRF, fresh login, the console, /docs): each
 * finding as the attacker tried it, with only the README and a running server.
 */

// A 1-second fresh-login window (its own env object: its own config).
const shortEnv = { ...env, KEYWARD_FRESH_LOGIN_SECONDS: "1" };
async function fetchShort(request: Request) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, shortEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("F1: a stale session cannot widen what exists", () => {
  it("token PATCH (scopes, re-enable), registry hostname, public repositories and service-key expiry need a fresh login", async () => {
    const admin = await createUser({ superuser: true });
    const registry = await json(
      await call("/registries", {
        method: "POST",
        auth: admin.auth,
        json: { properties: { name: uniqueName("demo").replace(/[^a-z0-9-]/g, "") } },
      }),
      201,
    );
    const token = await json(
      await call(`/registries/${registry.id}/tokens`, {
        method: "POST",
        auth: admin.auth,
        json: { properties: { name: "low-robot", scopes: [{ type: "repository", name: "ci/app", actions: ["pull"] }] } },
      }),
      201,
    );
    const key = await json(
      await call("/api/v1/superuser/keys", {
        method: "POST",
        auth: admin.auth,
        json: { service: uniqueName("svc"), expiration: null },
      }),
      200,
    );
    const browser = new Browser(fetchShort);
    const csrf = await browser.signIn(admin.username, admin.password);
    await sleep(1100);
    const headers = { "x-csrf-token": csrf };
    const stale = [
      await browser.fetch(`/registries/${registry.id}/tokens/${token.id}`, {
        method: "PATCH",
        headers,
        json: { scopes: [{ type: "repository", name: "*", actions: ["pull", "push", "delete"] }] },
      }),
      await browser.fetch(`/registries/${registry.id}/tokens/${token.id}`, {
        method: "PATCH",
        headers,
        json: { status: "enabled" },
      }),
      await browser.fetch(`/registries/${registry.id}`, {
        method: "PATCH",
        headers,
        json: { properties: { hostname: "elsewhere.local" } },
      }),
      await browser.fetch("/api/v1/superuser/public-repositories", { method: "POST", headers, json: { repository: "*" } }),
      await browser.fetch(`/api/v1/superuser/keys/${key.kid}`, { method: "PUT", headers, json: { name: "renamed" } }),
    ];
    expect(stale.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    // Disabling is an end, not a widening: it needs no fresh login.
    const disable = await browser.fetch(`/registries/${registry.id}/tokens/${token.id}`, {
      method: "PATCH",
      headers,
      json: { status: "disabled" },
    });
    expect(disable.status).toBe(200);
  });
});

describe("F2: an unreadable form is a 400, never a 500", () => {
  it.each([
    ["multipart with a boundary, garbage body", "multipart/form-data; boundary=xx"],
    ["multipart without a boundary", "multipart/form-data"],
  ])("%s, before sign-in and signed in", async (_name, type) => {
    const anonymous = await new Browser().fetch("/console/signin", {
      method: "POST",
      headers: { "content-type": type },
      body: "garbage",
    });
    expect(anonymous.status).toBe(403);
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    for (const path of ["/console/keys", "/console/verify", "/console/signout"]) {
      const response = await browser.fetch(path, { method: "POST", headers: { "content-type": type }, body: "garbage" });
      expect(response.status, path).toBeLessThan(500);
      expect(response.headers.get("content-type"), path).toContain("text/html");
    }
  });

  it.each([
    ["multipart/form-data; boundary=zz", "not multipart at all"],
    ["application/x-www-form-urlencoded; charset=utf-16", "a=b"],
  ])("a garbled form (%s) from a signed-in browser with its token in the header: a 400 page, not a 500", async (type, body) => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const csrf = /name="_csrf_token" value="([0-9a-f]{64})"/.exec(await (await browser.fetch("/console/keys")).text())![1]!;
    const response = await browser.fetch("/console/keys", {
      method: "POST",
      headers: { "content-type": type, "x-csrf-token": csrf },
      body,
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("The form could not be read");
  });
});

describe("F3: another site cannot log a browser out", () => {
  it("a sign-out without the cookie (a cross-site POST under SameSite=Lax) clears nothing", async () => {
    for (const path of ["/api/v1/signout", "/console/signout"]) {
      const response = await new Browser().fetch(path, { method: "POST" });
      expect(response.status, path).toBeLessThan(400);
      expect(response.headers.get("set-cookie"), path).toBeNull();
    }
  });
});

describe("F4: /docs runs only a pinned, integrity-checked script and cannot be framed", () => {
  it("pins swagger-ui-dist, checks SRI, and sends a CSP with frame-ancestors 'none'", async () => {
    const response = await call("/docs");
    const html = await response.text();
    expect(html).not.toContain("swagger-ui-dist/swagger-ui-bundle.js");
    expect(html).toMatch(/swagger-ui-dist@\d+\.\d+\.\d+\/swagger-ui-bundle\.js" integrity="sha384-/);
    expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });
});

describe("F5: a narrowed key cannot see or end its user's browser sessions", () => {
  it("list, revoke and sign-out are 403 with a scoped or expiring key; the session lives on", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const scoped = await createKey(user, { label: "ci", scopes: [`${user.username}/app`] });
    const expiring = await createKey(user, { label: "short", expirationDate: new Date(Date.now() + 3_600_000).toISOString() });
    const { sessions } = await json(await call("/api/v1/user/sessions", { auth: user.auth }), 200);
    for (const key of [scoped.apiKey, expiring.apiKey]) {
      await json(await call("/api/v1/user/sessions", { auth: bearer(key) }), 403);
      await json(await call(`/api/v1/user/sessions/${sessions[0].id}`, { method: "DELETE", auth: bearer(key) }), 403);
      await json(await call("/api/v1/signout", { method: "POST", auth: bearer(key) }), 403);
    }
    expect((await browser.fetch("/api/v1/user/")).status).toBe(200);
  });
});

describe("review: races and stale cookies", () => {
  it("a sign-in whose password check began before a password change starts no session", async () => {
    const { verifyCredential } = await import("../../src/credentials/verify");
    const { startSession, SessionRefused } = await import("../../src/credentials/sessions");
    const { loadConfig } = await import("../../src/config");
    const { createDb } = await import("../../src/db/client");
    const user = await createUser();
    const config = await loadConfig(env);
    const db = createDb(env.DB);
    const ctx = { db, config, actor: { id: null, name: null, ip: null, requestId: null }, client: "192.0.2.77", defer: () => {} };
    // The check with the old password succeeds …
    const checked = await verifyCredential(ctx, { username: user.username, value: user.password }, { boundary: "signin" });
    expect(checked.ok).toBe(true);
    // … then the password changes before the session is written.
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, {
        method: "PUT",
        auth: (await import("../helpers")).adminAuth(),
        json: { password: "changed-meanwhile-1" },
      }),
      200,
    );
    const principal = (checked as { ok: true; principal: any }).principal;
    await expect(startSession(db, config, ctx.actor, principal.user, { userAgent: null, ip: null })).rejects.toBeInstanceOf(
      SessionRefused,
    );
    const row = await env.DB.prepare("SELECT count(*) AS n FROM sessions WHERE user_id = ?")
      .bind(principal.user.id)
      .first<{ n: number }>();
    expect(row!.n).toBe(0);
  });

  it("the console sign-in page, opened with an ended session's cookie, signs in at the first attempt", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    // The session ends elsewhere; this browser still holds its cookie.
    await json(await call("/api/v1/signout", { method: "POST", auth: user.auth }), 200);
    const form = await browser.fetch("/console/signin");
    const token = /name="_csrf_token" value="([0-9a-f]{64})"/.exec(await form.text())![1]!;
    const response = await browser.fetch("/console/signin", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf_token: token, username: user.username, password: user.password }).toString(),
    });
    expect(response.status).toBe(303);
    expect(browser.session).toMatch(/^kss_/);
  });
});
