import type { Hono } from "hono";
import { z } from "zod";
import { actorOf } from "../auth/request";
import { listRefreshTokens, revokeRefreshToken } from "../credentials/refreshTokens";
import { listSessions, revokeSession } from "../credentials/sessions";
import type { ApiKey } from "../db/schema";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { isPrintable, printableOnly } from "../routes/common";
import {
  createApiKey,
  expiryOfLifetime,
  isExpired,
  listApiKeys,
  narrowToCallerKey,
  resetBuiltinApiKey,
  revokeApiKey,
} from "../services/apiKeys";
import {
  apiKeyRotationRefusal,
  endDeprecatedSecret,
  liveDeprecatedSecrets,
  ownedApiKey,
  rotateApiKey,
} from "../services/rotation";
import { type ConsoleContext, csrfOf, formOf, page, signedIn, staleRedirect } from "./context";
import {
  CsrfField,
  expiryText,
  GraceForm,
  KEY_WARNING,
  LastUse,
  OldSecretRow,
  PostButton,
  RotateForm,
  SecretOnce,
  Time,
} from "./ui";

/** Kallithea's lifetime choices, in minutes (−1: forever). */
export const LIFETIMES = [
  [-1, "Forever"],
  [5, "5 minutes"],
  [60, "1 hour"],
  [1440, "1 day"],
  [43200, "1 month"],
] as const;

const KIND_LABEL: Record<ApiKey["kind"], string> = { builtin: "Built-in", extra: "Extra", zot: "zot" };

const NewKeyForm = z.object({
  description: z.string().trim().min(1, "Enter a description").max(128).refine(isPrintable, "Use printable text"),
  lifetime: z.coerce
    .number()
    .int()
    .refine((n) => LIFETIMES.some(([m]) => m === n), "Choose a lifetime"),
});

const Uuid = z.uuid();

async function keysPage(c: ConsoleContext, extra?: { secret?: string; error?: string; status?: 200 | 400 | 403 | 409 }) {
  const { user } = signedIn(c);
  const keys = await listApiKeys(c.get("db"), user);
  keys.sort((a, b) => Number(b.kind === "builtin") - Number(a.kind === "builtin"));
  const oldSecrets = await liveDeprecatedSecrets(
    c.get("db"),
    "apiKeyId",
    keys.map((k) => k.id),
  );
  const csrf = await csrfOf(c);
  const hasBuiltin = keys.some((k) => k.kind === "builtin");
  return page(
    c,
    "API keys",
    <>
      {extra?.secret && <SecretOnce secret={extra.secret} what="API key" warning={KEY_WARNING} />}
      {extra?.error && (
        <p class="notice warning" role="alert">
          {extra.error}
        </p>
      )}
      <p class="muted">
        Every key works wherever an API key works: HTTP Basic (your username and the key), Bearer, docker login, and the Kallithea
        JSON-RPC API. keyward keeps only a keyed hash of each key, so a key is shown once, when it is made.
      </p>
      <table>
        <caption class="muted">Your API keys</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Description</th>
            <th scope="col">Scopes</th>
            <th scope="col">Expiry</th>
            <th scope="col">Last used</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.length === 0 && (
            <tr>
              <td colspan={6} class="muted">
                No API keys yet.
              </td>
            </tr>
          )}
          {keys.map((key) => [
            <tr class={isExpired(key) ? "expired" : undefined} data-key-id={key.id}>
              <td>
                <span class="badge">{KIND_LABEL[key.kind]}</span>
              </td>
              <td>{key.label}</td>
              <td>{key.scopes ? <code>{key.scopes.join(", ")}</code> : <span class="muted">all of yours</span>}</td>
              <td>{expiryText(key.expiresAt)}</td>
              <td>
                <LastUse at={key.lastUsedAt} ip={key.lastUsedIp} />
              </td>
              <td>
                <a href={`/console/keys/${key.id}/rotate`} aria-label={`Rotate ${key.label}`}>
                  Rotate
                </a>{" "}
                {key.kind === "builtin" ? (
                  <a href="/console/keys/builtin/reset">Reset</a>
                ) : (
                  <PostButton action={`/console/keys/${key.id}/revoke`} label="Revoke" csrf={csrf} danger name={key.label} />
                )}
              </td>
            </tr>,
            ...(oldSecrets.get(key.id) ?? []).map((old) => (
              <OldSecretRow
                old={old}
                endAction={`/console/keys/${key.id}/deprecated/${old.id}/end`}
                csrf={csrf}
                name={key.label}
              />
            )),
          ])}
        </tbody>
      </table>
      {!hasBuiltin && (
        <p>
          You have no built-in key yet. <a href="/console/keys/builtin/reset">Create your built-in key</a> (it never expires).
        </p>
      )}
      <form method="post" action="/console/keys">
        <fieldset>
          <legend>New API key</legend>
          <CsrfField token={csrf} />
          <label for="description">Description</label>
          <input id="description" name="description" type="text" maxlength={128} required placeholder="e.g. CI mirror job" />
          <label for="lifetime">Lifetime</label>
          <select id="lifetime" name="lifetime">
            {LIFETIMES.map(([minutes, label]) => (
              <option value={String(minutes)} selected={minutes === 1440}>
                {label}
              </option>
            ))}
          </select>
          <div class="actions">
            <button type="submit">Create key</button>
          </div>
        </fieldset>
      </form>
      <p class="notice">
        An API key is as powerful as your password. Never share it with anyone, and never hand it to a script or service you do
        not trust. If one may have leaked, revoke it (or reset the built-in key) right away.
      </p>
    </>,
    extra?.status ?? 200,
  );
}

function message(err: unknown): string {
  if (err instanceof ApiError && err.code !== "internal") return err.message;
  throw err;
}

export function accountPages(app: Hono<AppEnv>) {
  app.get("/", (c) => c.redirect("/console/keys", 303));
  app.get("/keys", (c) => keysPage(c));

  app.post("/keys", async (c) => {
    const stale = staleRedirect(c, "/console/keys");
    if (stale) return stale;
    const parsed = NewKeyForm.safeParse(await formOf(c));
    if (!parsed.success) return keysPage(c, { error: parsed.error.issues[0]!.message, status: 400 });
    const { user, lineage } = signedIn(c);
    try {
      const input = narrowToCallerKey(lineage, {
        kind: "extra",
        label: parsed.data.description,
        expiresAt: expiryOfLifetime(parsed.data.lifetime),
        creatorUa: printableOnly(c.req.header("user-agent") ?? "").slice(0, 256) || null,
      });
      const { secret } = await createApiKey(c.get("db"), c.get("config"), actorOf(c), user, input);
      return keysPage(c, { secret });
    } catch (err) {
      return keysPage(c, { error: message(err), status: 400 });
    }
  });

  app.post("/keys/:id/revoke", async (c) => {
    const id = Uuid.safeParse(c.req.param("id"));
    const { user, lineage } = signedIn(c);
    if (!id.success) return keysPage(c, { error: "No such key.", status: 400 });
    try {
      await revokeApiKey(c.get("db"), actorOf(c), user, id.data, lineage);
    } catch (err) {
      return keysPage(c, { error: message(err), status: 400 });
    }
    return c.redirect("/console/keys", 303);
  });

  app.get("/keys/:id/rotate", async (c) => {
    const id = Uuid.safeParse(c.req.param("id"));
    const { user } = signedIn(c);
    const key = id.success ? (await listApiKeys(c.get("db"), user)).find((k) => k.id === id.data) : undefined;
    if (!key) return keysPage(c, { error: "No such key.", status: 400 });
    const csrf = await csrfOf(c);
    return page(
      c,
      `Rotate ${key.label}`,
      <RotateForm action={`/console/keys/${key.id}/rotate`} cancel="/console/keys" csrf={csrf} what="key" />,
    );
  });

  app.post("/keys/:id/rotate", async (c) => {
    const id = Uuid.safeParse(c.req.param("id"));
    if (!id.success) return keysPage(c, { error: "No such key.", status: 400 });
    const stale = staleRedirect(c, `/console/keys/${id.data}/rotate`);
    if (stale) return stale;
    const parsed = GraceForm.safeParse(await formOf(c));
    if (!parsed.success) return keysPage(c, { error: parsed.error.issues[0]!.message, status: 400 });
    const { user, lineage } = signedIn(c);
    try {
      const { secret } = await rotateApiKey(c.get("db"), c.get("config"), actorOf(c), user, lineage, id.data, parsed.data.grace);
      return keysPage(c, { secret });
    } catch (err) {
      return keysPage(c, { error: message(err), status: 400 });
    }
  });

  app.post("/keys/:id/deprecated/:secretId/end", async (c) => {
    const id = Uuid.safeParse(c.req.param("id"));
    const secretId = Uuid.safeParse(c.req.param("secretId"));
    const { user, lineage } = signedIn(c);
    if (!id.success || !secretId.success) return keysPage(c, { error: "No such secret.", status: 400 });
    try {
      const refusal = await apiKeyRotationRefusal(c.get("db"), lineage, id.data, "end");
      if (refusal) throw new ApiError("forbidden", refusal);
      const credential = { id: id.data, ownerId: user.id, owned: ownedApiKey(id.data, user.id) };
      await endDeprecatedSecret(c.get("db"), actorOf(c), "apiKeyId", credential, secretId.data);
    } catch (err) {
      return keysPage(c, { error: message(err), status: 400 });
    }
    return c.redirect("/console/keys", 303);
  });

  app.get("/keys/builtin/reset", async (c) => {
    const csrf = await csrfOf(c);
    return page(
      c,
      "Reset the built-in key",
      <form method="post" action="/console/keys/builtin/reset">
        <CsrfField token={csrf} />
        <p>
          Resetting replaces your built-in key with a new one. The current built-in key, every key made with it and every refresh
          token it minted stop working at once: update whatever uses it.
        </p>
        <div class="actions">
          <button type="submit" class="danger">
            Reset the built-in key
          </button>
          <a href="/console/keys">Cancel</a>
        </div>
      </form>,
    );
  });

  app.post("/keys/builtin/reset", async (c) => {
    const stale = staleRedirect(c, "/console/keys/builtin/reset");
    if (stale) return stale;
    const { user, lineage } = signedIn(c);
    try {
      const { secret } = await resetBuiltinApiKey(c.get("db"), c.get("config"), actorOf(c), user, lineage);
      return keysPage(c, { secret });
    } catch (err) {
      return keysPage(c, { error: message(err), status: 409 });
    }
  });

  app.get("/sessions", async (c) => {
    const { user, lineage } = signedIn(c);
    const rows = await listSessions(c.get("db"), user);
    const csrf = await csrfOf(c);
    return page(
      c,
      "Sessions",
      <>
        <p class="muted">Browsers signed in as you. Signing out ends all of them.</p>
        <table>
          <thead>
            <tr>
              <th scope="col">Signed in</th>
              <th scope="col">Last used</th>
              <th scope="col">Ends</th>
              <th scope="col">Browser</th>
              <th scope="col">Address</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((s) => (
              <tr>
                <td>
                  <Time at={s.createdAt} />
                </td>
                <td>
                  <LastUse at={s.lastUsedAt} ip={s.lastUsedIp} />
                </td>
                <td>
                  <Time at={s.expiresAt} />
                </td>
                <td>{s.userAgent ?? ""}</td>
                <td>{s.ip ?? ""}</td>
                <td>
                  {lineage.kind === "session" && lineage.id === s.id ? (
                    <span class="badge">this browser</span>
                  ) : (
                    <PostButton action={`/console/sessions/${s.id}/revoke`} label="End" csrf={csrf} danger />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </>,
    );
  });

  app.post("/sessions/:id/revoke", async (c) => {
    const id = Uuid.safeParse(c.req.param("id"));
    if (id.success) await revokeSession(c.get("db"), actorOf(c), signedIn(c).user, id.data).catch(message);
    return c.redirect("/console/sessions", 303);
  });

  app.get("/refresh-tokens", async (c) => {
    const { user } = signedIn(c);
    const rows = await listRefreshTokens(c.get("db"), user.id);
    const csrf = await csrfOf(c);
    return page(
      c,
      "Refresh tokens",
      <>
        <p class="muted">
          Long-lived tokens that registry clients (containerd, buildkit) obtained at /v2/auth with offline access. Each ends with
          the credential that minted it.
        </p>
        <table>
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Client</th>
              <th scope="col">Minted with</th>
              <th scope="col">Created</th>
              <th scope="col">Expiry</th>
              <th scope="col">Last used</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colspan={7} class="muted">
                  No refresh tokens.
                </td>
              </tr>
            )}
            {rows.map((t) => (
              <tr>
                <td>{t.service}</td>
                <td>{t.clientId ?? ""}</td>
                <td>{t.via.replace("_", " ")}</td>
                <td>
                  <Time at={t.createdAt} />
                </td>
                <td>{expiryText(t.expiresAt)}</td>
                <td>
                  <LastUse at={t.lastUsedAt} ip={t.lastUsedIp} />
                </td>
                <td>
                  <PostButton action={`/console/refresh-tokens/${t.id}/revoke`} label="Revoke" csrf={csrf} danger />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </>,
    );
  });

  app.post("/refresh-tokens/:id/revoke", async (c) => {
    const id = Uuid.safeParse(c.req.param("id"));
    const { user, lineage } = signedIn(c);
    if (id.success) await revokeRefreshToken(c.get("db"), actorOf(c), user.id, id.data, lineage).catch(message);
    return c.redirect("/console/refresh-tokens", 303);
  });
}
