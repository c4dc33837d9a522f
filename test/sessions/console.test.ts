import { describe, expect, it } from "vitest";
import { basic, bearer, call, createUser, json } from "../helpers";
import { Browser } from "./support";

/* The console's pages in workerd (the real-browser tests are in scripts/browser-check.mjs). */

const csrfIn = (html: string) => /name="_csrf_token" value="([0-9a-f]{64})"/.exec(html)?.[1];

async function signInThroughForm(browser: Browser, username: string, password: string) {
  const form = await browser.fetch("/console/signin");
  const token = csrfIn(await form.text())!;
  return browser.fetch("/console/signin", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf_token: token, username, password, next: "/console/keys" }).toString(),
  });
}

describe("the console", () => {
  it("sends a browser asking for / to the console, and an API client a JSON 404", async () => {
    const response = await new Browser().fetch("/", { headers: { accept: "text/html,application/xhtml+xml" } });
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe("/console");
    expect((await call("/", { headers: { accept: "application/json" } })).status).toBe(404);
  });

  it("sends someone not signed in to the sign-in page, and back afterwards", async () => {
    const browser = new Browser();
    const response = await browser.fetch("/console/sessions");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/console/signin?next=%2Fconsole%2Fsessions");
  });

  it("serves every page with a nonce CSP and no third-party assets", async () => {
    const user = await createUser();
    const browser = new Browser();
    const signin = await signInThroughForm(browser, user.username, user.password);
    expect(signin.status).toBe(303);
    expect(signin.headers.get("location")).toBe("/console/keys");
    for (const path of ["/console/keys", "/console/sessions", "/console/refresh-tokens", "/console/keys/builtin/reset"]) {
      const response = await browser.fetch(path);
      const html = await response.text();
      expect(response.status, path).toBe(200);
      const csp = response.headers.get("content-security-policy")!;
      const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(html).toContain(`<style nonce="${nonce}">`);
      // The stylesheet and the copy script are inserted as written (JSX escaping broke both).
      expect(html).toContain('"Segoe UI"');
      expect(html).toContain('document.querySelectorAll("button[data-copy]")');
      expect(html).not.toMatch(/(src|href)="https?:/);
      expect(html).not.toMatch(/ on[a-z]+="/);
    }
  });

  it("creates a key from the form: the secret once, then never again", async () => {
    const user = await createUser();
    const browser = new Browser();
    await signInThroughForm(browser, user.username, user.password);
    const token = csrfIn(await (await browser.fetch("/console/keys")).text())!;
    const created = await browser.fetch("/console/keys", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf_token: token, description: "laptop", lifetime: "60" }).toString(),
    });
    const html = await created.text();
    expect(created.status).toBe(200);
    const secret = /<code id="secret">(zak_[0-9A-Za-z]{38})<\/code>/.exec(html)![1]!;
    await json(await call("/api/v1/user/", { auth: bearer(secret) }), 200);
    const again = await (await browser.fetch("/console/keys")).text();
    expect(again).toContain("laptop");
    expect(again).not.toContain(secret);
    expect(again).toContain("Expires in 1 hour");
  });

  it("rotates a key with a grace period: the new secret once, the old one listed until it is ended", async () => {
    const user = await createUser();
    const made = await json(
      await call("/api/v1/user/apikeys", {
        method: "POST",
        auth: basic(user.username, user.password),
        json: { description: "mirror", lifetime: -1 },
      }),
      201,
    );
    const browser = new Browser();
    await signInThroughForm(browser, user.username, user.password);
    const form = await (await browser.fetch(`/console/keys/${made.id}/rotate`)).text();
    expect(form).toContain("The old secret keeps working for");
    const rotated = await browser.fetch(`/console/keys/${made.id}/rotate`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf_token: csrfIn(form)!, grace: "3600" }).toString(),
    });
    const html = await rotated.text();
    expect(rotated.status).toBe(200);
    const secret = /<code id="secret">(zak_[0-9A-Za-z]{38})<\/code>/.exec(html)![1]!;
    expect(secret).not.toBe(made.apiKey);
    await json(await call("/api/v1/user/", { auth: bearer(secret) }), 200);
    const old = await call("/api/v1/user/", { auth: bearer(made.apiKey) });
    expect(old.status).toBe(200);
    expect(old.headers.get("sunset")).not.toBeNull();
    const listed = await (await browser.fetch("/console/keys")).text();
    expect(listed).toContain("Old secret");
    expect(listed).not.toContain(made.apiKey);
    const deprecatedId = /data-deprecated-id="([0-9a-f-]{36})"/.exec(listed)![1]!;
    const ended = await browser.fetch(`/console/keys/${made.id}/deprecated/${deprecatedId}/end`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf_token: csrfIn(listed)! }).toString(),
    });
    expect(ended.status).toBe(303);
    expect((await call("/api/v1/user/", { auth: bearer(made.apiKey) })).status).toBe(401);
    expect(await (await browser.fetch("/console/keys")).text()).not.toContain("Old secret");
  });

  it("refuses a rotation with an unknown grace period, and changes nothing", async () => {
    const user = await createUser();
    const made = await json(
      await call("/api/v1/user/apikeys", {
        method: "POST",
        auth: basic(user.username, user.password),
        json: { description: "mirror", lifetime: -1 },
      }),
      201,
    );
    const browser = new Browser();
    await signInThroughForm(browser, user.username, user.password);
    const form = await (await browser.fetch(`/console/keys/${made.id}/rotate`)).text();
    const refused = await browser.fetch(`/console/keys/${made.id}/rotate`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf_token: csrfIn(form)!, grace: "999999" }).toString(),
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("Choose how long the old secret keeps working");
    expect((await call("/api/v1/user/", { auth: bearer(made.apiKey) })).headers.get("sunset")).toBeNull();
  });

  it("refuses a form posted without the CSRF token, in an HTML page", async () => {
    const user = await createUser();
    const browser = new Browser();
    await signInThroughForm(browser, user.username, user.password);
    const response = await browser.fetch("/console/keys", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "description=x&lifetime=60",
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain("CSRF token was invalid or missing.");
    const { apiKeys } = await json(await call("/api/v1/user/apikeys", { auth: user.auth }), 200);
    expect(apiKeys).toHaveLength(0);
  });

  it("a wrong password re-renders the form with a message and starts no session", async () => {
    const user = await createUser();
    const browser = new Browser();
    const response = await signInThroughForm(browser, user.username, "wrong-password");
    expect(response.status).toBe(403);
    expect(await response.text()).toContain("Wrong username or password.");
    expect(browser.session).toBeUndefined();
  });

  it("never returns to a page outside the console after sign-in", async () => {
    const user = await createUser();
    for (const next of ["https://evil.example/", "//evil.example", "/console/../api"]) {
      const browser = new Browser();
      const token = csrfIn(await (await browser.fetch("/console/signin")).text())!;
      const response = await browser.fetch("/console/signin", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf_token: token, username: user.username, password: user.password, next }).toString(),
      });
      expect(response.headers.get("location")).toBe("/console/keys");
    }
  });
});
