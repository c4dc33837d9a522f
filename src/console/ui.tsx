import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";
import { z } from "zod";
import type { Principal } from "../domain/access";

/*
 * The console's building blocks: one layout, one stylesheet (inline, under the response's CSP
 * nonce: no third-party or even separate assets), forms that always carry the CSRF token, and
 * the one-time secret panel (its copy button is the only script).
 */

const CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #5b636e; --bg: #fff; --line: #d8dde3; --accent: #0b5cad; --on-accent: #fff; --danger: #b42318; --ok: #067647; --panel: #f5f7f9; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ed; --muted: #a3acb7; --bg: #121417; --line: #2e343b; --accent: #6cb0f5; --on-accent: #0b1a2a; --danger: #ff7b72; --ok: #56d364; --panel: #1b1f24; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .75rem 1.5rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; font-size: 1.1rem; color: var(--fg); text-decoration: none; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; list-style: none; margin: 0; padding: 0; }
nav a { color: var(--accent); text-decoration: none; }
nav a[aria-current="page"] { font-weight: 700; text-decoration: underline; }
header form { margin-left: auto; display: flex; align-items: center; gap: .5rem; }
a { color: var(--accent); }
main { max-width: 72rem; padding: 1.5rem; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .75rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
@media (max-width: 48rem) { table { display: block; overflow-x: auto; } }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .85rem; }
tr.expired td { color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; overflow-wrap: anywhere; }
form.inline { display: inline; }
fieldset { border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 0 0 1rem; }
legend { font-weight: 600; padding: 0 .25rem; }
label { display: block; font-weight: 600; margin: .5rem 0 .2rem; }
input[type=text], input[type=password], input[type=email], input[type=number], input[type=datetime-local], select { font: inherit; padding: .4rem .5rem; border: 1px solid var(--line); border-radius: 4px; min-width: 16rem; max-width: 100%; background: var(--bg); color: var(--fg); }
label.check { display: inline-flex; align-items: center; gap: .3rem; font-weight: 400; margin-right: 1rem; }
button { font: inherit; padding: .35rem .8rem; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: var(--on-accent); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button.danger { border-color: var(--danger); background: transparent; color: var(--danger); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.actions { display: flex; gap: .5rem; margin-top: .75rem; flex-wrap: wrap; align-items: center; }
.notice { border: 1px solid var(--line); border-left: 4px solid var(--accent); background: var(--panel); padding: .75rem 1rem; border-radius: 4px; margin: 0 0 1rem; }
.notice.warning { border-left-color: var(--danger); }
.notice.ok { border-left-color: var(--ok); }
.notice h2 { margin-top: 0; }
.secret { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; padding: .75rem; background: var(--panel); border: 1px dashed var(--line); border-radius: 4px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); white-space: nowrap; }
.pager { display: flex; gap: 1rem; }
`;

// The copy button: the console's only script. Without it the secret is still selectable text.
const COPY_SCRIPT = `
document.querySelectorAll("button[data-copy]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var text = document.getElementById(button.getAttribute("data-copy")).textContent;
    navigator.clipboard.writeText(text).then(function () { button.textContent = "Copied"; });
  });
});
`;

export interface PageProps {
  title: string;
  nonce: string;
  principal: Principal | null;
  csrf: string;
  path: string;
  children?: Child;
}

const ACCOUNT_LINKS = [
  ["/console/keys", "API keys"],
  ["/console/sessions", "Sessions"],
  ["/console/refresh-tokens", "Refresh tokens"],
] as const;

const ADMIN_LINKS = [
  ["/console/admin/users", "Users"],
  ["/console/admin/service-keys", "Service keys"],
  ["/console/admin/registries", "Registries"],
  ["/console/admin/signing-keys", "Signing keys"],
  ["/console/admin/audit", "Audit log"],
] as const;

export const Layout: FC<PageProps> = ({ title, nonce, principal, csrf, path, children }) => {
  const links = principal ? [...ACCOUNT_LINKS, ...(principal.user.superuser ? ADMIN_LINKS : [])] : [];
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · keyward`}</title>
        {/* Constant text of ours, not user input: inserted as is (JSX would escape its quotes). */}
        <style nonce={nonce}>{raw(CSS)}</style>
      </head>
      <body>
        <header>
          <a class="brand" href="/console">
            keyward
          </a>
          {principal && (
            <nav aria-label="Console">
              <ul>
                {links.map(([href, label]) => (
                  <li>
                    <a href={href} aria-current={path.startsWith(href) ? "page" : undefined}>
                      {label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {principal && (
            <form class="inline" method="post" action="/console/signout">
              <CsrfField token={csrf} />
              <span class="muted">{principal.user.username} </span>
              <button type="submit" class="secondary">
                Sign out
              </button>
            </form>
          )}
        </header>
        <main>
          <h1>{title}</h1>
          {children}
        </main>
        <script nonce={nonce}>{raw(COPY_SCRIPT)}</script>
      </body>
    </html>
  );
};

export const CsrfField: FC<{ token: string }> = ({ token }) => <input type="hidden" name="_csrf_token" value={token} />;

/** A one-button form (revoke, approve, delete…), with the CSRF token. */
export const PostButton: FC<{ action: string; label: string; csrf: string; danger?: boolean; name?: string }> = ({
  action,
  label,
  csrf,
  danger,
  name,
}) => (
  <form class="inline" method="post" action={action}>
    <CsrfField token={csrf} />
    <button type="submit" class={danger ? "danger" : "secondary"} aria-label={name ? `${label} ${name}` : label}>
      {label}
    </button>
  </form>
);

/** A secret shown once: selectable text, a copy button (hidden until its script runs), a warning. */
export const SecretOnce: FC<{ secret: string; what: string; warning: string }> = ({ secret, what, warning }) => (
  <section class="notice warning" aria-labelledby="secret-heading">
    <h2 id="secret-heading">Your new {what}</h2>
    <p>This is the only time keyward shows it. Copy it now: keyward keeps only a keyed hash and cannot show it again.</p>
    <div class="secret">
      <code id="secret">{secret}</code>
      <button type="button" data-copy="secret" hidden>
        Copy
      </button>
    </div>
    <p>{warning}</p>
  </section>
);

export const KEY_WARNING =
  "Treat this key like your password: whoever holds it can act as you wherever it works (the APIs, docker login, scripts). Never share it, never paste it into chats or tickets, and keep it out of source code. If it may have leaked, revoke it here at once.";

/** "in 5 minutes", "3 days ago": coarse and human. */
export function relative(date: Date, now = Date.now()): string {
  const ms = date.getTime() - now;
  // To the nearest minute past one: a key made "for 1 day" reads "in 1 day", not "in 24 hours".
  const exact = Math.abs(ms);
  const abs = exact >= 60_000 ? Math.round(exact / 60_000) * 60_000 : Math.round(exact / 1000) * 1000;
  const units: [number, string][] = [
    [365 * 86_400_000, "year"],
    [30 * 86_400_000, "month"],
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
  ];
  const [size, unit] = units.find(([size]) => abs >= size) ?? [1000, "second"];
  const n = Math.max(1, Math.round(abs / size));
  const text = `${n} ${unit}${n === 1 ? "" : "s"}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** Kallithea's expiry column: "Never", "Expires in …", "Expired …". */
export function expiryText(expiresAt: Date | null, now = Date.now()): string {
  if (!expiresAt) return "Never";
  return expiresAt.getTime() > now ? `Expires ${relative(expiresAt, now)}` : `Expired ${relative(expiresAt, now)}`;
}

export const Time: FC<{ at: Date | null; empty?: string }> = ({ at, empty = "Never" }) =>
  at ? (
    <time datetime={at.toISOString()} title={at.toISOString()}>
      {relative(at)}
    </time>
  ) : (
    <span class="muted">{empty}</span>
  );

/** When a credential was last used, and from which address (recorded at most once a minute). */
export const LastUse: FC<{ at: Date | null; ip: string | null }> = ({ at, ip }) => (
  <>
    <Time at={at} />
    {at && ip ? <span class="muted"> from {ip}</span> : null}
  </>
);

/** How long a rotated credential's old secret keeps working, in seconds (the console's choices). */
export const GRACE_PERIODS = [
  [0, "End it now"],
  [3600, "1 hour"],
  [86400, "1 day"],
  [604800, "7 days"],
] as const;

/** The rotate form's field. */
export const GraceForm = z.object({
  grace: z.coerce
    .number()
    .int()
    .refine((n) => GRACE_PERIODS.some(([s]) => s === n), "Choose how long the old secret keeps working"),
});

/** The rotate form: what rotating does, and how long the old secret keeps working. */
export const RotateForm: FC<{ action: string; cancel: string; csrf: string; what: string }> = ({
  action,
  cancel,
  csrf,
  what,
}) => (
  <form method="post" action={action}>
    <CsrfField token={csrf} />
    <p>
      Rotating gives this {what} a new secret, shown once. The old secret keeps working for the time you choose, so you can update
      whatever uses it without downtime; responses to it say so (Deprecation and Sunset headers), and its last use is shown here
      until it ends.
    </p>
    <label for="grace">The old secret keeps working for</label>
    <select id="grace" name="grace">
      {GRACE_PERIODS.map(([seconds, label]) => (
        <option value={String(seconds)} selected={seconds === 86400}>
          {label}
        </option>
      ))}
    </select>
    <div class="actions">
      <button type="submit">Rotate</button>
      <a href={cancel}>Cancel</a>
    </div>
  </form>
);

/** A rotated credential's old secret, as a row under its credential (six columns). */
export const OldSecretRow: FC<{
  old: { id: string; deprecatedAt: string; sunsetAt: string; lastUsedAt: string | null; lastUsedIp: string | null };
  endAction: string;
  csrf: string;
  name: string;
}> = ({ old, endAction, csrf, name }) => (
  <tr class="deprecated" data-deprecated-id={old.id}>
    <td>
      <span class="badge">Old secret</span>
    </td>
    <td colspan={2} class="muted">
      Rotated <Time at={new Date(old.deprecatedAt)} />; works until its sunset
    </td>
    <td>
      Sunset <Time at={new Date(old.sunsetAt)} />
    </td>
    <td>
      <LastUse at={old.lastUsedAt ? new Date(old.lastUsedAt) : null} ip={old.lastUsedIp} />
    </td>
    <td>
      <PostButton action={endAction} label="End now" csrf={csrf} danger name={`the old secret of ${name}`} />
    </td>
  </tr>
);

/** An error page in the console's look (the renderer's, for errors raised before a page ran). */
export function errorPageHtml(status: number, message: string, nonce: string): string {
  const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${status} · keyward</title><style nonce="${escapeHtml(nonce)}">${CSS}</style></head><body><header><a class="brand" href="/console">keyward</a></header><main><h1>${status === 404 ? "Not found" : "Something is not right"}</h1><p class="notice warning" role="alert">${escapeHtml(message)}</p><p><a href="/console">Back to the console</a></p></main></body></html>`;
}
