// npm run test:browser: drives the web console (/console) in a real browser, Debian's Chromium
// (headless, through playwright-core), against a fresh local keyward (as `npm start` runs it).
// Every page visited is screenshotted to screenshots/<step>.png; any CSP violation or page error
// fails the run. Prints PASS/FAIL per check and exits non-zero on any failure.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { chromium } from "playwright-core";
import { startKeyward } from "./dev-server.mjs";

const ADMIN = { username: "admin", password: "keyward-dev-password" };
const USER = { username: "browser-carol", email: "carol@example.com", password: "carol-browser-password-1" };
const SHOTS = "screenshots";

function chromiumPath() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim() || "/usr/bin/chromium";
  } catch {
    return "/usr/bin/chromium";
  }
}

const results = [];
function check(name, ok, detail = "") {
  results.push({ name, ok: Boolean(ok) });
  console.log(`${ok ? "PASS" : "FAIL"} ${name}${!ok && detail ? ` (${detail})` : ""}`);
  return Boolean(ok);
}

const basic = ({ username, password }) => `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;

/** Problems the browser reported: CSP violations (console) and uncaught page errors. */
const cspViolations = [];
const pageErrors = [];
function watch(page, who) {
  page.on("console", (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push({ message: msg.text(), where: where(page, who) });
  });
  page.on("pageerror", (err) => pageErrors.push({ message: err.message, where: where(page, who) }));
}

const where = (page, who) => `${new URL(page.url()).pathname} (${who})`;

let shotCount = 0;
async function shot(page, name) {
  shotCount += 1;
  const file = join(SHOTS, `${String(shotCount).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Clicks and waits for the navigation the click causes; answers its main response. */
async function submit(page, action) {
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), action()]);
  return response;
}

const started = Date.now();
rmSync(SHOTS, { recursive: true, force: true });
mkdirSync(SHOTS, { recursive: true });

const server = await startKeyward();
const url = server.url;
let browser;
let browserMs = 0;
try {
  const api = async (path, init = {}) => fetch(`${url}${path}`, init);
  const whoami = async (headers) => (await api("/api/v1/user/", { headers })).status;

  // The test user, made with the superuser JSON API.
  const created = await api("/api/v1/superuser/users", {
    method: "POST",
    headers: { authorization: basic(ADMIN), "content-type": "application/json" },
    body: JSON.stringify(USER),
  });
  check("the superuser API creates the test user", created.status === 200 || created.status === 201, `HTTP ${created.status}`);
  const userKeys = async () =>
    (await (await api("/api/v1/user/apikeys", { headers: { authorization: basic(USER) } })).json()).apiKeys ?? [];

  const browserStarted = Date.now();
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox"] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(10_000);
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: url });
  const page = await context.newPage();
  watch(page, USER.username);

  // 1. Sign in through the form; land on the API keys page.
  await page.goto(`${url}/`);
  check("/ in a browser goes to the sign-in page", new URL(page.url()).pathname === "/console/signin", page.url());
  await shot(page, "signin");
  await page.getByLabel("Username").fill(USER.username);
  await page.getByLabel("Password").fill("not the password");
  const wrong = await submit(page, () => page.getByRole("button", { name: "Sign in" }).click());
  check(
    "1. a wrong password answers 403 with an alert",
    wrong?.status() === 403 && (await page.getByRole("alert").textContent())?.includes("Wrong username or password."),
    `HTTP ${wrong?.status()}`,
  );
  await shot(page, "signin-wrong-password");
  await page.getByLabel("Username").fill(USER.username);
  await page.getByLabel("Password").fill(USER.password);
  await submit(page, () => page.getByRole("button", { name: "Sign in" }).click());
  check("1. sign-in lands on the API keys page", new URL(page.url()).pathname === "/console/keys", page.url());
  check("1. the page is titled API keys", await page.getByRole("heading", { level: 1, name: "API keys" }).isVisible());
  check("1. the header names the user", await page.locator("header").getByText(USER.username).isVisible());
  await shot(page, "keys-signed-in");

  // 2. Create a key with a description and a lifetime; the secret is shown once, with a warning.
  const description = "browser check key";
  await page.getByLabel("Description").fill(description);
  await page.getByLabel("Lifetime").selectOption({ label: "1 hour" });
  const createResponse = await submit(page, () => page.getByRole("button", { name: "Create key" }).click());
  check("2. creating a key answers 200", createResponse?.status() === 200, `HTTP ${createResponse?.status()}`);
  const secret = ((await page.locator("#secret").textContent()) ?? "").trim();
  check("2. the new secret is shown in #secret", secret.length >= 20, JSON.stringify(secret));
  check(
    "2. the one-time warning is shown",
    (await page.getByText("This is the only time keyward shows it").isVisible()) &&
      (await page.getByText("Treat this key like your password").isVisible()),
  );
  const copy = page.getByRole("button", { name: "Copy" });
  check("2. the Copy button is shown (its script ran under the CSP)", await copy.isVisible());
  await shot(page, "key-created-secret");
  if (await copy.isVisible()) {
    await copy.click();
    await page
      .getByRole("button", { name: "Copied" })
      .waitFor({ timeout: 5000 })
      .catch(() => {});
    const clip = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => `error: ${e.message}`);
    check("2. Copy puts the secret on the clipboard", clip === secret, clip.slice(0, 40));
  }
  const keyRow = page.getByRole("row").filter({ hasText: description });
  check(
    "2. the key is listed with its expiry",
    /Expires in (1 hour|59 minutes|60 minutes)/.test((await keyRow.textContent()) ?? ""),
  );
  check("2. the new key works as Bearer (200)", (await whoami({ authorization: `Bearer ${secret}` })) === 200);
  await page.goto(`${url}/console/keys`);
  check(
    "2. after a reload the secret is gone from the page",
    (await page.locator("#secret").count()) === 0 && !(await page.content()).includes(secret),
  );
  check("2. after a reload the key is still listed", await keyRow.isVisible());
  await shot(page, "keys-listed");

  // 2b. Rotate it with an hour's grace: the new secret once; the old one listed until ended.
  await submit(page, () => page.getByRole("link", { name: `Rotate ${description}` }).click());
  await page.getByLabel("The old secret keeps working for").selectOption({ label: "1 hour" });
  await shot(page, "key-rotate-form");
  const rotateResponse = await submit(page, () => page.getByRole("button", { name: "Rotate" }).click());
  check("2b. rotating answers 200", rotateResponse?.status() === 200, `HTTP ${rotateResponse?.status()}`);
  const rotatedSecret = ((await page.locator("#secret").textContent()) ?? "").trim();
  check("2b. the new secret is shown once", rotatedSecret.length >= 20 && rotatedSecret !== secret);
  const oldRow = page.getByRole("row").filter({ hasText: "Old secret" });
  check("2b. the old secret is listed under its key", (await oldRow.count()) === 1);
  check("2b. the old secret still works (200)", (await whoami({ authorization: `Bearer ${secret}` })) === 200);
  check("2b. the new secret works (200)", (await whoami({ authorization: `Bearer ${rotatedSecret}` })) === 200);
  await shot(page, "key-rotated");
  await submit(page, () => page.getByRole("button", { name: `End now the old secret of ${description}` }).click());
  check("2b. after End now the old secret is gone from the list", (await oldRow.count()) === 0);
  check("2b. the ended old secret answers 401", (await whoami({ authorization: `Bearer ${secret}` })) === 401);
  check("2b. the new secret still works (200)", (await whoami({ authorization: `Bearer ${rotatedSecret}` })) === 200);

  await submit(page, () => page.getByRole("button", { name: `Revoke ${description}` }).click());
  check("2. revoke returns to the keys page", new URL(page.url()).pathname === "/console/keys", page.url());
  check("2. the revoked key is no longer listed", (await keyRow.count()) === 0);
  check("2. the revoked key answers 401", (await whoami({ authorization: `Bearer ${rotatedSecret}` })) === 401);
  await shot(page, "key-revoked");

  // 3. Reset the built-in key: a confirmation page, then the secret once; a second reset ends the first.
  const builtinSecrets = [];
  for (const round of [1, 2]) {
    await page.goto(`${url}/console/keys`);
    const link = page.getByRole("link", { name: /^(Reset|Create your built-in key)$/ });
    await submit(page, () => link.first().click());
    check(`3. reset #${round}: a confirmation page`, new URL(page.url()).pathname === "/console/keys/builtin/reset");
    await shot(page, `builtin-reset-confirm-${round}`);
    await submit(page, () => page.getByRole("button", { name: "Reset the built-in key" }).click());
    const s = (
      (await page
        .locator("#secret")
        .textContent()
        .catch(() => "")) ?? ""
    ).trim();
    check(`3. reset #${round}: the new built-in secret is shown once`, s.length >= 20);
    check(`3. reset #${round}: the warning is shown`, await page.getByText("Treat this key like your password").isVisible());
    check(
      `3. reset #${round}: the built-in secret works as Bearer (200)`,
      (await whoami({ authorization: `Bearer ${s}` })) === 200,
    );
    builtinSecrets.push(s);
    await shot(page, `builtin-reset-secret-${round}`);
  }
  check(
    "3. after the second reset the first built-in secret answers 401",
    (await whoami({ authorization: `Bearer ${builtinSecrets[0]}` })) === 401,
  );
  check(
    "3. the second built-in secret still answers 200",
    (await whoami({ authorization: `Bearer ${builtinSecrets[1]}` })) === 200,
  );

  // 4. A form posted without its CSRF token is refused, and nothing is made.
  await page.goto(`${url}/console/keys`);
  await page.evaluate(() => document.querySelector('form[action="/console/keys"] input[name="_csrf_token"]')?.remove());
  await page.getByLabel("Description").fill("no csrf token");
  const refused = await submit(page, () => page.getByRole("button", { name: "Create key" }).click());
  check("4. a form without the CSRF token answers 403", refused?.status() === 403, `HTTP ${refused?.status()}`);
  check("4. the 403 page says why", await page.getByText("CSRF token was invalid or missing.").isVisible());
  await shot(page, "csrf-refused");
  check("4. no key was made without the CSRF token", !(await userKeys()).some((k) => k.description === "no csrf token"));

  // 5. Keyboard only: Tab from the top of the page to Description, type, Enter submits.
  await page.goto(`${url}/console/keys`);
  let tabs = 0;
  for (; tabs < 40; tabs++) {
    if (await page.evaluate(() => document.activeElement?.id === "description")) break;
    await page.keyboard.press("Tab");
  }
  const focused = await page.evaluate(() => document.activeElement?.id === "description");
  check(`5. Tab reaches Description (${tabs} presses)`, focused);
  await shot(page, "keyboard-focus");
  if (focused) {
    await page.keyboard.type("typed with the keyboard");
    await submit(page, () => page.keyboard.press("Enter"));
    check("5. Enter submits the form and shows the secret", (await page.locator("#secret").count()) === 1);
    check(
      "5. the typed key is made (default lifetime 1 day)",
      (await userKeys()).some((k) => k.description === "typed with the keyboard"),
    );
    await shot(page, "keyboard-created");
  }

  // The other account pages render.
  await page.goto(`${url}/console/sessions`);
  check("sessions page lists this browser", await page.getByText("this browser").isVisible());
  await shot(page, "sessions");
  await page.goto(`${url}/console/refresh-tokens`);
  check("refresh tokens page renders", await page.getByRole("heading", { level: 1, name: "Refresh tokens" }).isVisible());
  await shot(page, "refresh-tokens");

  // A clean page of keys (one extra key listed, no secret) for the README.
  await page.goto(`${url}/console/keys`);
  await shot(page, "keys-for-readme");
  // For review only: the same page in dark mode and on a phone-sized screen.
  await page.emulateMedia({ colorScheme: "dark" });
  await shot(page, "keys-dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, "keys-narrow");
  await page.setViewportSize({ width: 1280, height: 800 });

  // 6. Superuser: approve a service key that awaits approval; rotate the signing key.
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  adminContext.setDefaultTimeout(10_000);
  const admin = await adminContext.newPage();
  watch(admin, "admin");
  try {
    await admin.goto(`${url}/console/signin`);
    await admin.getByLabel("Username").fill(ADMIN.username);
    await admin.getByLabel("Password").fill(ADMIN.password);
    await submit(admin, () => admin.getByRole("button", { name: "Sign in" }).click());
    check("6. the superuser signs in", new URL(admin.url()).pathname === "/console/keys", admin.url());
    check("6. the superuser sees the admin links", await admin.getByRole("link", { name: "Service keys" }).isVisible());
    await superuserFlow(admin);
  } catch (err) {
    check("6. the superuser flow completes", false, err?.stack ?? String(err));
  }
  await adminContext.close();

  // 7. Sign out: the session ends for the browser and for its old cookie.
  const cookie = (await context.cookies(url)).find((c) => /keyward_session$/.test(c.name));
  check("7. the session cookie is HttpOnly", cookie?.httpOnly === true);
  const cookieHeader = cookie ? `${cookie.name}=${cookie.value}` : "";
  check("7. before sign-out the cookie signs in (200)", (await whoami({ cookie: cookieHeader })) === 200);
  await submit(page, () => page.locator("header").getByRole("button", { name: "Sign out" }).click());
  check("7. sign-out lands on the sign-in page", new URL(page.url()).pathname === "/console/signin", page.url());
  await shot(page, "signed-out");
  await page.goto(`${url}/console/keys`);
  const after = new URL(page.url());
  check(
    "7. /console/keys then redirects to sign-in",
    after.pathname === "/console/signin" && after.searchParams.get("next") === "/console/keys",
    page.url(),
  );
  check("7. the old session cookie answers 401", (await whoami({ cookie: cookieHeader })) === 401);

  await context.close();
  browserMs = Date.now() - browserStarted;
} catch (err) {
  check("the browser run completes without an exception", false, err?.stack ?? String(err));
} finally {
  await browser?.close().catch(() => {});
  server.stop();
}

/** Each distinct message once, with how often and on which pages it came. */
function summary(list) {
  const by = new Map();
  for (const { message, where } of list) {
    const entry = by.get(message) ?? { count: 0, pages: new Set() };
    entry.count += 1;
    entry.pages.add(where);
    by.set(message, entry);
  }
  return [...by].map(([m, e]) => `${e.count}× "${m}" on ${[...e.pages].join(", ")}`).join("\n  ");
}
check("no Content Security Policy violation", cspViolations.length === 0, summary(cspViolations));
check("no page error", pageErrors.length === 0, summary(pageErrors));

const failed = results.filter((r) => !r.ok).length;
console.log(
  `${failed ? "FAIL" : "PASS"}: ${results.length - failed}/${results.length} checks; browser ${(browserMs / 1000).toFixed(1)} s, ` +
    `total ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${SHOTS}/`,
);
process.exit(failed ? 1 : 0);

/** Step 6, on the superuser pages (src/console/admin.tsx). */
async function superuserFlow(admin) {
  const headers = { authorization: basic(ADMIN) };
  // A service registers its own key through the keyserver (a JWT signed by the key): unapproved.
  const service = "browser-check";
  const pair = await generateKeyPair("ES256", { extractable: true });
  const full = await exportJWK(pair.publicKey);
  const jwk = { kty: "EC", crv: full.crv, x: full.x, y: full.y };
  const kid = await calculateJwkThumbprint(jwk, "sha256");
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid })
    .setIssuer(service)
    .setAudience("keyward")
    .setJti(crypto.randomUUID())
    .setExpirationTime("5m")
    .sign(pair.privateKey);
  const expiration = Math.floor(Date.now() / 1000) + 86400;
  const put = await fetch(`${url}/keys/services/${service}/keys/${kid}?expiration=${expiration}`, {
    method: "PUT",
    headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
    body: JSON.stringify(jwk),
  });
  check("6. the keyserver stores a self-registered key unapproved (202)", put.status === 202, `HTTP ${put.status}`);
  check(
    "6. the unapproved key is not served yet (409)",
    (await fetch(`${url}/keys/services/${service}/keys/${kid}`)).status === 409,
  );

  const listed = await admin.goto(`${url}/console/admin/service-keys`);
  check(
    "6. the service keys page renders",
    listed?.status() === 200 && (await admin.getByRole("heading", { level: 1, name: "Service keys" }).isVisible()),
    `HTTP ${listed?.status()}`,
  );
  const row = admin.getByRole("row").filter({ hasText: kid.slice(0, 12) });
  check("6. the unapproved key is listed", (await row.count()) === 1);
  await shot(admin, "admin-service-keys");
  await row.getByLabel(/^Approval notes/).fill("approved by the browser check");
  await submit(admin, () => row.getByRole("button", { name: /^Approve/ }).click());
  await shot(admin, "admin-service-key-approved");
  const keys = (await (await fetch(`${url}/api/v1/superuser/keys`, { headers })).json()).keys ?? [];
  const approval = keys.find((k) => k.kid === kid)?.approval;
  check("6. the key is approved by admin (JSON API)", approval?.approver?.username === "admin", JSON.stringify(approval));
  check(
    "6. the approval keeps the notes typed in the page",
    approval?.notes === "approved by the browser check",
    JSON.stringify(approval),
  );
  check(
    "6. the approved key is served by the keyserver (200)",
    (await fetch(`${url}/keys/services/${service}/keys/${kid}`)).status === 200,
  );

  const before = (await (await fetch(`${url}/api/v1/superuser/signing-keys`, { headers })).json()).keys ?? [];
  await admin.goto(`${url}/console/admin/signing-keys`);
  await shot(admin, "admin-signing-keys");
  await submit(admin, () => admin.getByRole("button", { name: /^Rotate/ }).click());
  const afterKeys = (await (await fetch(`${url}/api/v1/superuser/signing-keys`, { headers })).json()).keys ?? [];
  const fresh = afterKeys.find((k) => k.state === "active" && !before.some((b) => b.kid === k.kid));
  check("6. rotating makes a new active signing key (JSON API)", Boolean(fresh));
  await admin.goto(`${url}/console/admin/signing-keys`);
  const freshRow = fresh ? admin.getByRole("row").filter({ hasText: fresh.kid.slice(0, 12) }) : null;
  check(
    "6. the signing keys page lists the new key as active",
    Boolean(freshRow) && /active/i.test((await freshRow.textContent()) ?? ""),
  );
  await shot(admin, "admin-signing-keys-rotated");

  // The other superuser pages render (and are screenshotted for review).
  for (const [path, title] of [
    ["users", "Users"],
    ["registries", "Registries"],
    ["audit", "Audit log"],
  ]) {
    const response = await admin.goto(`${url}/console/admin/${path}`);
    check(
      `6. the ${title} page renders`,
      response?.status() === 200 && (await admin.getByRole("heading", { level: 1, name: title }).isVisible()),
      `HTTP ${response?.status()}`,
    );
    await shot(admin, `admin-${path}`);
  }
}
