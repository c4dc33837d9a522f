import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { adminAuth, basic, call, createUser, json, type TestUser, uniqueName } from "../helpers";
import { keyserverJwt, makeKeyPair } from "../keys-helpers";
import { Browser } from "./support";

/* The superuser pages of the console (/console/admin/*), in workerd against D1. */

const csrfIn = (html: string) => /name="_csrf_token" value="([0-9a-f]{64})"/.exec(html)?.[1];
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const ADMIN_PAGES = [
  "/console/admin/users",
  "/console/admin/service-keys",
  "/console/admin/registries",
  "/console/admin/signing-keys",
  "/console/admin/audit",
];

async function signIn(browser: Browser, user: TestUser) {
  const token = csrfIn(await (await browser.fetch("/console/signin")).text())!;
  const response = await browser.fetch("/console/signin", {
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({
      _csrf_token: token,
      username: user.username,
      password: user.password,
      next: "/console/keys",
    }).toString(),
  });
  expect(response.status).toBe(303);
  expect(browser.session).toMatch(/^kss_/);
}

/** A signed-in superuser's browser. */
async function superuserBrowser(fetcher?: (request: Request) => Promise<Response>) {
  const user = await createUser({ superuser: true });
  const browser = new Browser(fetcher);
  await signIn(browser, user);
  return { user, browser };
}

/** Posts a form (fields may repeat) with the CSRF token read from `from`. */
async function post(browser: Browser, path: string, fields: [string, string][] = [], from = "/console/admin/users") {
  const token = csrfIn(await (await browser.fetch(from)).text())!;
  const body = new URLSearchParams([["_csrf_token", token], ...fields]);
  return browser.fetch(path, { method: "POST", headers: FORM, body: body.toString() });
}

const rowOf = (html: string, attr: string, value: string) =>
  new RegExp(`<tr[^>]*${attr}="${value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"[^>]*>([\\s\\S]*?)</tr>`).exec(html)?.[1];

describe("the admin pages: who may see them", () => {
  it("a user who is not a superuser gets a 403 page on every one of them, and cannot post", async () => {
    const user = await createUser();
    const browser = new Browser();
    await signIn(browser, user);
    for (const path of [...ADMIN_PAGES, "/console/admin", `/console/admin/registries/${crypto.randomUUID()}`]) {
      const response = await browser.fetch(path);
      expect(response.status, path).toBe(403);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(await response.text()).toContain("These pages are for superusers only.");
    }
    const rotate = await post(browser, "/console/admin/signing-keys/rotate", [], "/console/keys");
    expect(rotate.status).toBe(403);
    // The navigation offers no admin links to them.
    expect(await (await browser.fetch("/console/keys")).text()).not.toContain("/console/admin/");
  });

  it("a superuser demoted while signed in loses the pages at once", async () => {
    const { user, browser } = await superuserBrowser();
    expect((await browser.fetch("/console/admin/users")).status).toBe(200);
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, { method: "PUT", auth: adminAuth(), json: { superuser: false } }),
      200,
    );
    expect((await browser.fetch("/console/admin/users")).status).toBe(403);
  });

  it("someone not signed in is sent to sign in", async () => {
    const response = await new Browser().fetch("/console/admin/audit");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/console/signin?next=%2Fconsole%2Fadmin%2Faudit");
  });

  it("a superuser sees every page, with a nonce CSP, labelled inputs and no third-party assets or inline handlers", async () => {
    const { browser } = await superuserBrowser();
    expect((await post(browser, "/console/admin/registries", [["name", uniqueName("reg")]])).status).toBe(200);
    const registries = await (await browser.fetch("/console/admin/registries")).text();
    const registryId = /data-registry-id="([0-9a-f-]{36})"/.exec(registries)![1]!;
    for (const path of [...ADMIN_PAGES, `/console/admin/registries/${registryId}`]) {
      const response = await browser.fetch(path);
      const html = await response.text();
      expect(response.status, path).toBe(200);
      const csp = response.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'none'");
      const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
      expect(html).toContain(`<style nonce="${nonce}">`);
      expect(html).not.toMatch(/(src|href|action)="https?:/);
      expect(html).not.toMatch(/ on[a-z]+="/);
      // Every visible input has a label pointing at it.
      for (const [, id] of html.matchAll(/<input(?![^>]*type="hidden")[^>]*id="([^"]+)"/g)) {
        expect(html, `${path} #${id}`).toContain(`for="${id}"`);
      }
    }
    expect((await browser.fetch("/console/admin")).headers.get("location")).toBe("/console/admin/users");
  });
});

describe("users", () => {
  it("creates a user from the form: a generated password shown once, and it works", async () => {
    const { browser } = await superuserBrowser();
    const username = uniqueName();
    const created = await post(browser, "/console/admin/users", [
      ["username", username],
      ["email", `${username}@example.com`],
      ["password", ""],
    ]);
    const html = await created.text();
    expect(created.status).toBe(200);
    expect(html).toContain(`User ${username} created.`);
    const password = /<code id="secret">([0-9A-Za-z]{24})<\/code>/.exec(html)![1]!;
    await json(await call("/api/v1/user/", { auth: basic(username, password) }), 200);
    const again = await (await browser.fetch("/console/admin/users")).text();
    expect(rowOf(again, "data-username", username)).toContain(`${username}@example.com`);
    expect(again).not.toContain(password);
  });

  it("creates a superuser with a chosen password (nothing shown), and re-renders bad input with a 400", async () => {
    const { browser } = await superuserBrowser();
    const username = uniqueName();
    const created = await post(browser, "/console/admin/users", [
      ["username", username],
      ["password", "a-chosen-password"],
      ["superuser", "on"],
    ]);
    const html = await created.text();
    expect(created.status).toBe(200);
    expect(html).not.toContain('id="secret"');
    expect(rowOf(html, "data-username", username)).toContain("superuser");
    const me = await json(await call("/api/v1/user/", { auth: basic(username, "a-chosen-password") }), 200);
    expect(me.super_user).toBe(true);

    for (const [fields, message] of [
      [[["username", "Bad Name!"]], "A username is 2-63"],
      [
        [
          ["username", uniqueName()],
          ["email", "not-an-email"],
        ],
        "valid email",
      ],
      [
        [
          ["username", uniqueName()],
          ["password", "short"],
        ],
        "at least 8 characters",
      ],
      [[["username", username]], `User ${username} already exists`],
    ] as [[string, string][], string][]) {
      const response = await post(browser, "/console/admin/users", fields);
      expect(response.status).toBe(fields[0]![1] === username ? 409 : 400);
      expect(await response.text()).toContain(message);
    }
  });

  it("disables and enables a user; a superuser cannot disable themselves", async () => {
    const { user: me, browser } = await superuserBrowser();
    const other = await createUser();
    const disabled = await post(browser, `/console/admin/users/${other.username}/disable`);
    expect(disabled.status).toBe(303);
    expect(disabled.headers.get("location")).toBe("/console/admin/users");
    expect((await call("/api/v1/user/", { auth: other.auth })).status).toBe(401);
    const html = await (await browser.fetch("/console/admin/users")).text();
    expect(rowOf(html, "data-username", other.username)).toContain("disabled");
    expect(rowOf(html, "data-username", other.username)).toContain(`aria-label="Enable ${other.username}"`);

    expect((await post(browser, `/console/admin/users/${other.username}/enable`)).status).toBe(303);
    await json(await call("/api/v1/user/", { auth: other.auth }), 200);

    const self = await post(browser, `/console/admin/users/${me.username}/disable`);
    expect(self.status).toBe(400);
    expect(await self.text()).toContain("You cannot disable or demote yourself");
    const unknown = await post(browser, `/console/admin/users/${uniqueName()}/disable`);
    expect(unknown.status).toBe(404);
  });
});

describe("service keys", () => {
  async function registerUnapproved() {
    const service = uniqueName("svc");
    const key = await makeKeyPair("ES256");
    const response = await call(`/keys/services/${service}/keys/${key.kid}`, {
      method: "PUT",
      json: key.jwk,
      headers: { authorization: `Bearer ${await keyserverJwt(key, service)}` },
    });
    expect(response.status).toBe(202);
    return { service, kid: key.kid };
  }

  it("approves a self-registered key with notes", async () => {
    const { user, browser } = await superuserBrowser();
    const { service, kid } = await registerUnapproved();
    const before = await (await browser.fetch("/console/admin/service-keys")).text();
    const row = rowOf(before, "data-kid", kid)!;
    expect(row).toContain(service);
    expect(row).toContain("Awaiting approval");
    expect(row).toContain(`aria-label="Approve ${service} key ${kid.slice(0, 12)}"`);
    await json(await call(`/keys/services/${service}/keys/${kid}`), 409);

    const approved = await post(browser, `/console/admin/service-keys/${kid}/approve`, [["notes", "checked with the team"]]);
    expect(approved.status).toBe(303);
    await json(await call(`/keys/services/${service}/keys/${kid}`), 200);
    const stored = await json(await call(`/api/v1/superuser/keys/${kid}`, { auth: adminAuth() }), 200);
    expect(stored.approval).toMatchObject({ approver: { username: user.username }, notes: "checked with the team" });
    const after = rowOf(await (await browser.fetch("/console/admin/service-keys")).text(), "data-kid", kid)!;
    expect(after).toContain(`Approved by ${user.username}`);
    expect(after).not.toContain(">Approve<");
  });

  it("deletes a key; keyward's own signing keys are read-only", async () => {
    const { browser } = await superuserBrowser();
    const { kid } = await registerUnapproved();
    const deleted = await post(browser, `/console/admin/service-keys/${kid}/delete`);
    expect(deleted.status).toBe(303);
    await json(await call(`/api/v1/superuser/keys/${kid}`, { auth: adminAuth() }), 404);
    expect(await (await browser.fetch("/console/admin/service-keys")).text()).not.toContain(kid);

    const signing = await json(await call("/api/v1/superuser/signing-keys", { auth: adminAuth() }), 200);
    const own = signing.keys[0].kid as string;
    const html = await (await browser.fetch("/console/admin/service-keys")).text();
    const ownRow = rowOf(html, "data-kid", own)!;
    expect(ownRow).toContain("Managed by keyward");
    expect(ownRow).not.toContain("<button");
    const refused = await post(browser, `/console/admin/service-keys/${own}/delete`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("managed by keyward alone");
    await json(await call(`/api/v1/superuser/keys/${own}`, { auth: adminAuth() }), 200);
  });
});

describe("signing keys", () => {
  it("rotates now: a new active key, the old one retiring", async () => {
    const { browser } = await superuserBrowser();
    // A signing key exists before the console's rotation (the API's rotation makes one).
    await json(await call("/api/v1/superuser/signing-keys/rotate", { method: "POST", auth: adminAuth() }), 200);
    const before = await (await browser.fetch("/console/admin/signing-keys")).text();
    const oldActive = /data-kid="([^"]+)" data-state="active"/.exec(before)![1]!;
    const rotated = await post(browser, "/console/admin/signing-keys/rotate", [], "/console/admin/signing-keys");
    expect(rotated.status).toBe(303);
    expect(rotated.headers.get("location")).toBe("/console/admin/signing-keys");
    const after = await (await browser.fetch("/console/admin/signing-keys")).text();
    const newActive = /data-kid="([^"]+)" data-state="active"/.exec(after)![1]!;
    expect(newActive).not.toBe(oldActive);
    expect(after).toContain(`data-kid="${oldActive}" data-state="retiring"`);
    const listed = await json(await call("/api/v1/superuser/signing-keys", { auth: adminAuth() }), 200);
    expect(listed.keys[0]).toMatchObject({ kid: newActive, state: "active" });
  });
});

describe("registries and their tokens", () => {
  it("creates a registry and a token from the forms; the token logs in at /v2/auth until disabled", async () => {
    const { browser } = await superuserBrowser();
    const name = uniqueName("reg");
    const created = await post(browser, "/console/admin/registries", [
      ["name", name],
      ["hostname", ""],
    ]);
    const html = await created.text();
    expect(created.status).toBe(200);
    const hostname = `${name}.registry.local`;
    expect(html).toContain(`Registry ${name} created for ${hostname}.`);
    const registryId = new RegExp(`data-registry-id="([0-9a-f-]{36})">\\s*<td><a[^>]*>${name}<`).exec(html)![1]!;
    const page = `/console/admin/registries/${registryId}`;

    const tokenName = uniqueName("robot");
    const token = await post(
      browser,
      `${page}/tokens`,
      [
        ["name", tokenName],
        ["repository", "ci/*"],
        ["actions", "pull"],
        ["actions", "push"],
        ["expiry", ""],
      ],
      page,
    );
    const tokenHtml = await token.text();
    expect(token.status).toBe(200);
    const password = /<code id="secret">(krt_[0-9A-Za-z]+)<\/code>/.exec(tokenHtml)![1]!;
    const newId = /data-token-id="([0-9a-f-]{36})"/.exec(tokenHtml)![1]!;
    expect(rowOf(tokenHtml, "data-token-id", newId)).toContain("ci/*: pull, push");
    const v2auth = () =>
      call(`/v2/auth?service=${hostname}&scope=${encodeURIComponent("repository:ci/app:pull,push")}`, {
        auth: basic(tokenName, password),
      });
    await json(await v2auth(), 200);
    const again = await (await browser.fetch(page)).text();
    expect(again).toContain(tokenName);
    expect(again).not.toContain(password);

    const tokenId = /data-token-id="([0-9a-f-]{36})"/.exec(again)![1]!;
    const disabled = await post(browser, `${page}/tokens/${tokenId}/disable`, [], page);
    expect(disabled.status).toBe(303);
    expect(disabled.headers.get("location")).toBe(page);
    expect((await v2auth()).status).toBe(401);
    const row = rowOf(await (await browser.fetch(page)).text(), "data-token-id", tokenId)!;
    expect(row).toContain("disabled");
    expect(row).toContain(`aria-label="Enable token ${tokenName}"`);

    expect((await post(browser, `${page}/tokens/${tokenId}/enable`, [], page)).status).toBe(303);
    await json(await v2auth(), 200);
    expect((await post(browser, `${page}/tokens/${tokenId}/delete`, [], page)).status).toBe(303);
    expect(await (await browser.fetch(page)).text()).not.toContain(tokenName);
  });

  it("rotates a token with a grace period: the new password once, the old one listed with its last use until ended", async () => {
    const { browser } = await superuserBrowser();
    const name = uniqueName("reg");
    const html = await (await post(browser, "/console/admin/registries", [["name", name]])).text();
    const registryId = new RegExp(`data-registry-id="([0-9a-f-]{36})">\\s*<td><a[^>]*>${name}<`).exec(html)![1]!;
    const page = `/console/admin/registries/${registryId}`;
    const tokenName = uniqueName("robot");
    const made = await (
      await post(
        browser,
        `${page}/tokens`,
        [
          ["name", tokenName],
          ["repository", "ci/*"],
          ["actions", "pull"],
        ],
        page,
      )
    ).text();
    const oldPassword = /<code id="secret">(krt_[0-9A-Za-z]+)<\/code>/.exec(made)![1]!;
    const tokenId = /data-token-id="([0-9a-f-]{36})"/.exec(made)![1]!;
    const login = (password: string) => call(`/v2/auth?service=${name}.registry.local`, { auth: basic(tokenName, password) });

    const form = await (await browser.fetch(`${page}/tokens/${tokenId}/rotate`)).text();
    expect(form).toContain('<select id="grace" name="grace">');
    expect((await post(browser, `${page}/tokens/${tokenId}/rotate`, [["grace", "17"]], page)).status).toBe(400);
    const rotated = await post(browser, `${page}/tokens/${tokenId}/rotate`, [["grace", "3600"]], page);
    const rotatedHtml = await rotated.text();
    expect(rotated.status).toBe(200);
    expect(rotatedHtml).toContain(`Token ${tokenName} rotated; its old password works until`);
    const newPassword = /<code id="secret">(krt_[0-9A-Za-z]+)<\/code>/.exec(rotatedHtml)![1]!;
    expect(newPassword).not.toBe(oldPassword);

    const old = await login(oldPassword);
    expect(old.status).toBe(200);
    expect(old.headers.get("Sunset")).not.toBeNull();
    expect((await login(newPassword)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const listed = await (await browser.fetch(page)).text();
    expect(listed).not.toContain(oldPassword);
    const deprecatedId = /data-deprecated-id="([0-9a-f-]{36})"/.exec(listed)![1]!;
    const row = rowOf(listed, "data-deprecated-id", deprecatedId)!;
    expect(row).toContain("Old secret");
    expect(row).toContain(" from ");

    const ended = await post(browser, `${page}/tokens/${tokenId}/deprecated/${deprecatedId}/end`, [], page);
    expect(ended.status).toBe(303);
    expect((await login(oldPassword)).status).toBe(401);
    expect((await login(newPassword)).status).toBe(200);
    expect(await (await browser.fetch(page)).text()).not.toContain(deprecatedId);
    const again = await post(browser, `${page}/tokens/${tokenId}/deprecated/${deprecatedId}/end`, [], page);
    expect(again.status).toBe(404);
  });

  it("takes an expiry in UTC, and re-renders bad token input with a 400", async () => {
    const { browser } = await superuserBrowser();
    const name = uniqueName("reg");
    const html = await (
      await post(browser, "/console/admin/registries", [
        ["name", name],
        ["hostname", `${name}.example.com`],
      ])
    ).text();
    expect(html).toContain(`${name}.example.com`);
    const registryId = new RegExp(`data-registry-id="([0-9a-f-]{36})">\\s*<td><a[^>]*>${name}<`).exec(html)![1]!;
    const page = `/console/admin/registries/${registryId}`;
    const tokenName = uniqueName("robot");
    const expiry = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 16);
    const ok = await post(
      browser,
      `${page}/tokens`,
      [
        ["name", tokenName],
        ["repository", "team/app"],
        ["actions", "pull"],
        ["expiry", expiry],
      ],
      page,
    );
    expect(ok.status).toBe(200);
    const { items } = await json(await call(`/registries/${registryId}/tokens`, { auth: adminAuth() }), 200);
    expect(items[0].properties.expiryDate).toBe(`${expiry}:00.000Z`);

    const soon = new Date(Date.now() + 10 * 60_000).toISOString().slice(0, 16);
    for (const [fields, message] of [
      [
        [
          ["name", "X"],
          ["repository", "a"],
          ["actions", "pull"],
        ],
        "A name is 3-63",
      ],
      [
        [
          ["name", uniqueName("robot")],
          ["repository", "Bad Repo"],
          ["actions", "pull"],
        ],
        "repository name or glob",
      ],
      [
        [
          ["name", uniqueName("robot")],
          ["repository", "a"],
        ],
        "Choose at least one action",
      ],
      [
        [
          ["name", uniqueName("robot")],
          ["repository", "a"],
          ["actions", "pull"],
          ["expiry", "tomorrow"],
        ],
        "Enter the expiry",
      ],
      [
        [
          ["name", uniqueName("robot")],
          ["repository", "a"],
          ["actions", "pull"],
          ["expiry", soon],
        ],
        "at least one hour",
      ],
      [
        [
          ["name", tokenName],
          ["repository", "a"],
          ["actions", "pull"],
        ],
        "exists already",
      ],
    ] as [[string, string][], string][]) {
      const response = await post(browser, `${page}/tokens`, fields, page);
      expect(response.status, message).toBe(message === "exists already" ? 409 : 400);
      expect(await response.text()).toContain(message);
    }
    const bad = await post(browser, "/console/admin/registries", [["name", "Not A Name"]]);
    expect(bad.status).toBe(400);
    expect((await browser.fetch(`/console/admin/registries/${crypto.randomUUID()}`)).status).toBe(404);

    const deleted = await post(browser, `/console/admin/registries/${registryId}/delete`);
    expect(deleted.status).toBe(303);
    expect(await (await browser.fetch("/console/admin/registries")).text()).not.toContain(registryId);
  });
});

describe("the audit log", () => {
  it("filters by kind and pages with before", async () => {
    const { browser } = await superuserBrowser();
    const kind = `test.paging_${Math.random().toString(36).slice(2, 8)}`;
    const insert = env.DB.prepare(
      "INSERT INTO audit_log (at, kind, actor_name, target_type, target_id, ip, metadata) VALUES (?, ?, 'tester', 'thing', ?, '192.0.2.9', ?)",
    );
    await env.DB.batch(Array.from({ length: 55 }, (_, i) => insert.bind(Date.now(), kind, `t-${i}`, JSON.stringify({ n: i }))));
    await env.DB.prepare("INSERT INTO audit_log (at, kind, metadata) VALUES (?, 'test.other', '{}')").bind(Date.now()).run();

    const first = await browser.fetch(`/console/admin/audit?kind=${kind}`);
    const html = await first.text();
    expect(first.status).toBe(200);
    const kinds = [...html.matchAll(/<tr data-audit-id="\d+">\s*<td>.*?<\/td>\s*<td><code>([^<]+)<\/code>/g)].map((m) => m[1]);
    expect(kinds).toHaveLength(50);
    expect(new Set(kinds)).toEqual(new Set([kind]));
    expect(html).toContain("t-54");
    expect(html).toContain("<code>{&quot;n&quot;:54}</code>");
    expect(html).toContain("192.0.2.9");
    expect(html).not.toContain("t-4<");
    const older = /<a href="([^"]+)" rel="next">Older<\/a>/.exec(html)![1]!.replaceAll("&amp;", "&");
    expect(older).toMatch(new RegExp(`^/console/admin/audit\\?kind=${kind.replace(".", "\\.")}&before=\\d+$`));

    const second = await (await browser.fetch(older)).text();
    const rest = [...second.matchAll(/data-audit-id="\d+"/g)];
    expect(rest).toHaveLength(5);
    expect(second).toContain("t-0<");
    expect(second).not.toContain("t-5<");
    expect(second).not.toContain('rel="next"');

    const bad = await browser.fetch("/console/admin/audit?kind=%3Cscript%3E");
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("A kind looks like");
    expect((await browser.fetch("/console/admin/audit?before=abc")).status).toBe(400);
  });
});

describe("fresh login and CSRF", () => {
  // A configuration with a 1-second fresh-login window (its own env object: its own config).
  const shortEnv = { ...env, KEYWARD_FRESH_LOGIN_SECONDS: "1" };
  const fetchShort = async (request: Request) => {
    const ctx = createExecutionContext();
    const response = await worker.fetch(request, shortEnv, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };

  it("a stale session posting Rotate now is sent to verify its password first", async () => {
    const { browser } = await superuserBrowser(fetchShort);
    const before = await json(await call("/api/v1/superuser/signing-keys", { auth: adminAuth() }), 200);
    const token = csrfIn(await (await browser.fetch("/console/admin/signing-keys")).text())!;
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const response = await browser.fetch("/console/admin/signing-keys/rotate", {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({ _csrf_token: token }).toString(),
    });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/console/verify?next=%2Fconsole%2Fadmin%2Fsigning-keys");
    const after = await json(await call("/api/v1/superuser/signing-keys", { auth: adminAuth() }), 200);
    expect(after.keys[0].kid).toBe(before.keys[0].kid);
    // Creating a user is sensitive too.
    const user = await browser.fetch("/console/admin/users", {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({ _csrf_token: token, username: uniqueName() }).toString(),
    });
    expect(user.status).toBe(303);
    expect(user.headers.get("location")).toBe("/console/verify?next=%2Fconsole%2Fadmin%2Fusers");
  });

  it("refuses a form posted without the CSRF token (403), and does nothing", async () => {
    const { browser } = await superuserBrowser();
    const name = uniqueName("reg");
    const response = await browser.fetch("/console/admin/registries", {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({ name }).toString(),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(await response.text()).toContain("CSRF token was invalid or missing.");
    expect(await (await browser.fetch("/console/admin/registries")).text()).not.toContain(name);
  });
});
