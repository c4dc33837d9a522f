import type { Hono } from "hono";
import { z } from "zod";
import { actorOf } from "../../auth/request";
import type { Registry, RegistryToken } from "../../db/schema";
import { RepositoryGlob } from "../../domain/repositories";
import type { AppEnv } from "../../env";
import { HOSTNAME_PATTERN, NAME_PATTERN } from "../../routes/ionos/schemas";
import { createRegistry, deleteRegistry, getManagedRegistry, listRegistries } from "../../services/registries";
import { createToken, deleteToken, getToken, listTokens, patchToken, type TokenScope } from "../../services/registryTokens";
import { endDeprecatedSecret, liveDeprecatedSecrets, ownedRegistryToken, rotateRegistryToken } from "../../services/rotation";
import { type ConsoleContext, csrfOf, formAll, formOf, page, signedIn, staleRedirect } from "../context";
import { CsrfField, expiryText, GraceForm, LastUse, OldSecretRow, PostButton, RotateForm, SecretOnce, Time } from "../ui";
import { firstIssue, Notices, type Outcome, refusal, withoutBlanks } from "./shared";

const NAME_RULE = "A name is 3-63 of a-z, 0-9 and '-', starting with a letter and not ending with '-'";
const Name = z.string({ error: "Enter a name" }).trim().regex(NAME_PATTERN, NAME_RULE);
// The IONOS API's hostname rule.
const Hostname = z
  .string()
  .trim()
  .toLowerCase()
  .max(253, "A hostname is at most 253 characters")
  .regex(HOSTNAME_PATTERN, "Enter a host name like registry.example.com");

const NewRegistryForm = z.object({ name: Name, hostname: Hostname.optional() });

const ACTIONS = ["pull", "push", "delete"] as const;

/** A datetime-local value ("2030-01-31T12:00", seconds optional), read as UTC. */
const UtcDateTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/, "Enter the expiry as a date and time, or leave it empty")
  .transform((value) => new Date(`${value}Z`))
  .refine((date) => !Number.isNaN(date.getTime()), "Enter a real date and time for the expiry");

const NewTokenForm = z.object({
  name: Name,
  repository: z.string({ error: "Enter a repository or pattern" }).trim().pipe(RepositoryGlob),
  actions: z
    .array(z.enum(ACTIONS, "Choose pull, push or delete"))
    .min(1, "Choose at least one action")
    .transform((actions) => ACTIONS.filter((a) => actions.includes(a))),
  expiry: UtcDateTime.optional(),
});

const Uuid = z.uuid();
const After = z.string().regex(NAME_PATTERN);
const PAGE_SIZE = 100;

// ---- registries ---------------------------------------------------------------------------

async function registriesPage(c: ConsoleContext, outcome?: Outcome) {
  const registries = await listRegistries(c.get("db"), signedIn(c));
  const csrf = await csrfOf(c);
  const domain = c.get("config").registryDomain;
  return page(
    c,
    "Registries",
    <>
      <Notices outcome={outcome} />
      <p class="muted">
        A registry is the service its registry server names at /v2/auth (its hostname). Its tokens log in there as robots, with
        the scopes they were given.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Hostname (service)</th>
            <th scope="col">Created</th>
            <th scope="col">Created by</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {registries.length === 0 && (
            <tr>
              <td colspan={5} class="muted">
                No registries yet.
              </td>
            </tr>
          )}
          {registries.map((r) => (
            <tr data-registry-id={r.id}>
              <td>
                <a href={`/console/admin/registries/${r.id}`}>{r.name}</a>
              </td>
              <td>
                <code>{r.hostname}</code>
              </td>
              <td>
                <Time at={r.createdAt} />
              </td>
              <td>{r.createdBy}</td>
              <td>
                <a href={`/console/admin/registries/${r.id}`} aria-label={`Tokens of ${r.name}`}>
                  Tokens
                </a>{" "}
                <PostButton
                  action={`/console/admin/registries/${r.id}/delete`}
                  label="Delete"
                  csrf={csrf}
                  danger
                  name={`registry ${r.name} and all its tokens`}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/console/admin/registries">
        <fieldset>
          <legend>New registry</legend>
          <CsrfField token={csrf} />
          <label for="name">Name</label>
          <input id="name" name="name" type="text" required maxlength={63} autocomplete="off" />
          <label for="hostname">Hostname (optional: &lt;name&gt;.{domain} if empty)</label>
          <input id="hostname" name="hostname" type="text" maxlength={253} autocomplete="off" />
          <div class="actions">
            <button type="submit">Create registry</button>
          </div>
        </fieldset>
      </form>
    </>,
    outcome?.status ?? 200,
  );
}

// ---- one registry's tokens ----------------------------------------------------------------

function scopeText(scope: TokenScope): string {
  const what = scope.type === "registry" ? `registry ${scope.name}` : scope.name;
  return `${what}: ${scope.actions.join(", ")}`;
}

const TOKEN_WARNING =
  "This password is the token: anything that holds it can log in to the registry as this robot, with every action its scopes allow. Put it straight into the secret store of the job or machine that needs it, never into a repository, an image, a chat or a ticket. If it may have leaked, disable or delete the token here.";

async function registryPage(
  c: ConsoleContext,
  registry: Registry,
  outcome?: Outcome & { created?: { token: RegistryToken; password: string } },
) {
  const after = After.safeParse(c.req.query("after"));
  const { items, total } = await listTokens(c.get("db"), registry, {
    offset: 0,
    limit: PAGE_SIZE,
    after: after.success ? after.data : undefined,
  });
  const oldSecrets = await liveDeprecatedSecrets(
    c.get("db"),
    "registryTokenId",
    items.map((t) => t.id),
  );
  const csrf = await csrfOf(c);
  const base = `/console/admin/registries/${registry.id}`;
  return page(
    c,
    `Registry ${registry.name}`,
    <>
      {outcome?.created && (
        <>
          <SecretOnce secret={outcome.created.password} what="registry token password" warning={TOKEN_WARNING} />
          <p>
            Log in with the username <code>{outcome.created.token.name}</code> and this password, for example{" "}
            <code>
              docker login {registry.hostname} -u {outcome.created.token.name}
            </code>
            .
          </p>
        </>
      )}
      <Notices outcome={outcome} />
      <p>
        Hostname (service): <code>{registry.hostname}</code> · created <Time at={registry.createdAt} /> by {registry.createdBy} ·{" "}
        <a href="/console/admin/registries">All registries</a>
      </p>
      <table>
        <caption class="muted">
          Tokens ({total}){after.success ? `, after ${after.data}` : ""}
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scopes</th>
            <th scope="col">Status</th>
            <th scope="col">Expiry</th>
            <th scope="col">Last used</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {items.length === 0 && (
            <tr>
              <td colspan={6} class="muted">
                No tokens.
              </td>
            </tr>
          )}
          {items.map((t) => [
            <tr class={t.status === "disabled" ? "expired" : undefined} data-token-id={t.id}>
              <td>{t.name}</td>
              <td>
                {(t.scopes ?? []).length === 0 ? (
                  <span class="muted">none</span>
                ) : (
                  <ul>
                    {(t.scopes ?? []).map((s) => (
                      <li>
                        <code>{scopeText(s)}</code>
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              <td>{t.status === "enabled" ? "Enabled" : <span class="badge">disabled</span>}</td>
              <td>{expiryText(t.expiresAt)}</td>
              <td>
                <LastUse at={t.lastUsedAt} ip={t.lastUsedIp} />
              </td>
              <td>
                {t.status === "enabled" ? (
                  <PostButton action={`${base}/tokens/${t.id}/disable`} label="Disable" csrf={csrf} name={`token ${t.name}`} />
                ) : (
                  <PostButton action={`${base}/tokens/${t.id}/enable`} label="Enable" csrf={csrf} name={`token ${t.name}`} />
                )}{" "}
                <a href={`${base}/tokens/${t.id}/rotate`} aria-label={`Rotate token ${t.name}`}>
                  Rotate
                </a>{" "}
                <PostButton action={`${base}/tokens/${t.id}/delete`} label="Delete" csrf={csrf} danger name={`token ${t.name}`} />
              </td>
            </tr>,
            ...(oldSecrets.get(t.id) ?? []).map((old) => (
              <OldSecretRow
                old={old}
                endAction={`${base}/tokens/${t.id}/deprecated/${old.id}/end`}
                csrf={csrf}
                name={`token ${t.name}`}
              />
            )),
          ])}
        </tbody>
      </table>
      {items.length === PAGE_SIZE && (
        <p class="pager">
          <a href={`${base}?after=${encodeURIComponent(items.at(-1)!.name)}`}>More tokens</a>
        </p>
      )}
      <form method="post" action={`${base}/tokens`}>
        <fieldset>
          <legend>New token</legend>
          <CsrfField token={csrf} />
          <label for="token-name">Name (the username it logs in with)</label>
          <input id="token-name" name="name" type="text" required maxlength={63} autocomplete="off" />
          <label for="repository">Repository or pattern (e.g. team/app or team/*)</label>
          <input id="repository" name="repository" type="text" required maxlength={255} autocomplete="off" />
          <fieldset>
            <legend>Actions on it</legend>
            {ACTIONS.map((action) => (
              <label class="check" for={`action-${action}`}>
                <input id={`action-${action}`} name="actions" type="checkbox" value={action} checked={action === "pull"} />
                {action}
              </label>
            ))}
          </fieldset>
          <label for="expiry">Expires at, in UTC (optional: never if empty; at least an hour from now)</label>
          <input id="expiry" name="expiry" type="datetime-local" />
          <div class="actions">
            <button type="submit">Create token</button>
          </div>
        </fieldset>
      </form>
    </>,
    outcome?.status ?? 200,
  );
}

/** The registry named by the path, or a 404 page. */
async function registryOf(c: ConsoleContext): Promise<Registry | Response> {
  const id = Uuid.safeParse(c.req.param("id"));
  if (!id.success) return registriesPage(c, { error: "No such registry.", status: 404 });
  try {
    return await getManagedRegistry(c.get("db"), signedIn(c), id.data.toLowerCase());
  } catch (err) {
    return registriesPage(c, refusal(err));
  }
}

export function registryPages(app: Hono<AppEnv>) {
  app.get("/admin/registries", (c) => registriesPage(c));

  app.post("/admin/registries", async (c) => {
    const stale = staleRedirect(c, "/console/admin/registries");
    if (stale) return stale;
    const parsed = NewRegistryForm.safeParse(withoutBlanks(await formOf(c)));
    if (!parsed.success) return registriesPage(c, { error: firstIssue(parsed.error), status: 400 });
    const { name, hostname } = parsed.data;
    const config = c.get("config");
    try {
      const registry = await createRegistry(c.get("db"), config, actorOf(c), signedIn(c), {
        name,
        hostname: hostname ?? `${name}.${config.registryDomain}`,
      });
      return registriesPage(c, { ok: `Registry ${registry.name} created for ${registry.hostname}.` });
    } catch (err) {
      return registriesPage(c, refusal(err));
    }
  });

  app.post("/admin/registries/:id/delete", async (c) => {
    const registry = await registryOf(c);
    if (registry instanceof Response) return registry;
    try {
      await deleteRegistry(c.get("db"), actorOf(c), registry);
    } catch (err) {
      return registriesPage(c, refusal(err));
    }
    return c.redirect("/console/admin/registries", 303);
  });

  app.get("/admin/registries/:id", async (c) => {
    const registry = await registryOf(c);
    return registry instanceof Response ? registry : registryPage(c, registry);
  });

  app.post("/admin/registries/:id/tokens", async (c) => {
    const id = c.req.param("id");
    const stale = staleRedirect(c, `/console/admin/registries/${Uuid.safeParse(id).success ? id : ""}`);
    if (stale) return stale;
    const registry = await registryOf(c);
    if (registry instanceof Response) return registry;
    const form = withoutBlanks(await formOf(c));
    const parsed = NewTokenForm.safeParse({ ...form, actions: await formAll(c, "actions") });
    if (!parsed.success) return registryPage(c, registry, { error: firstIssue(parsed.error), status: 400 });
    const { name, repository, actions, expiry } = parsed.data;
    try {
      const created = await createToken(c.get("db"), c.get("config"), actorOf(c), signedIn(c), registry, {
        name,
        scopes: [{ type: "repository", name: repository, actions }],
        status: "enabled",
        expiresAt: expiry ?? null,
      });
      return registryPage(c, registry, { created, ok: `Token ${name} created.` });
    } catch (err) {
      return registryPage(c, registry, refusal(err));
    }
  });

  /** The token named by the path, in `registry`, or null. */
  const tokenOf = async (c: ConsoleContext, registry: Registry) => {
    const tokenId = Uuid.safeParse(c.req.param("tokenId"));
    return tokenId.success ? getToken(c.get("db"), registry, tokenId.data.toLowerCase()).catch(() => null) : null;
  };

  app.get("/admin/registries/:id/tokens/:tokenId/rotate", async (c) => {
    const registry = await registryOf(c);
    if (registry instanceof Response) return registry;
    const token = await tokenOf(c, registry);
    if (!token) return registryPage(c, registry, { error: "No such token.", status: 404 });
    const base = `/console/admin/registries/${registry.id}`;
    return page(
      c,
      `Rotate token ${token.name}`,
      <RotateForm action={`${base}/tokens/${token.id}/rotate`} cancel={base} csrf={await csrfOf(c)} what="token" />,
    );
  });

  // A new password, like creating a token: a fresh sign-in.
  app.post("/admin/registries/:id/tokens/:tokenId/rotate", async (c) => {
    const registry = await registryOf(c);
    if (registry instanceof Response) return registry;
    const stale = staleRedirect(c, `/console/admin/registries/${registry.id}/tokens/${c.req.param("tokenId")}/rotate`);
    if (stale) return stale;
    const token = await tokenOf(c, registry);
    if (!token) return registryPage(c, registry, { error: "No such token.", status: 404 });
    const parsed = GraceForm.safeParse(await formOf(c));
    if (!parsed.success) return registryPage(c, registry, { error: firstIssue(parsed.error), status: 400 });
    try {
      const rotated = await rotateRegistryToken(c.get("db"), c.get("config"), actorOf(c), signedIn(c), token, parsed.data.grace);
      const ok = rotated.deprecated
        ? `Token ${token.name} rotated; its old password works until ${rotated.deprecated.sunsetAt.toISOString()}.`
        : `Token ${token.name} rotated; its old password no longer works.`;
      return registryPage(c, registry, { created: { token: rotated.token, password: rotated.password }, ok });
    } catch (err) {
      return registryPage(c, registry, refusal(err));
    }
  });

  app.post("/admin/registries/:id/tokens/:tokenId/deprecated/:secretId/end", async (c) => {
    const registry = await registryOf(c);
    if (registry instanceof Response) return registry;
    const token = await tokenOf(c, registry);
    const secretId = Uuid.safeParse(c.req.param("secretId"));
    if (!token || !secretId.success) return registryPage(c, registry, { error: "No such secret.", status: 404 });
    try {
      const credential = { id: token.id, ownerId: token.createdByUserId, owned: ownedRegistryToken(token) };
      await endDeprecatedSecret(c.get("db"), actorOf(c), "registryTokenId", credential, secretId.data.toLowerCase());
    } catch (err) {
      return registryPage(c, registry, refusal(err));
    }
    return c.redirect(`/console/admin/registries/${registry.id}`, 303);
  });

  for (const [action, status] of [
    ["disable", "disabled"],
    ["enable", "enabled"],
    ["delete", null],
  ] as const) {
    app.post(`/admin/registries/:id/tokens/:tokenId/${action}`, async (c) => {
      const registry = await registryOf(c);
      if (registry instanceof Response) return registry;
      const tokenId = Uuid.safeParse(c.req.param("tokenId"));
      if (!tokenId.success) return registryPage(c, registry, { error: "No such token.", status: 404 });
      // Enabling brings a credential back: a fresh sign-in, like creating one.
      if (action === "enable") {
        const stale = staleRedirect(c, `/console/admin/registries/${registry.id}`);
        if (stale) return stale;
      }
      const db = c.get("db");
      try {
        const token = await getToken(db, registry, tokenId.data.toLowerCase());
        if (status) await patchToken(db, actorOf(c), signedIn(c), token, { status });
        else await deleteToken(db, actorOf(c), token);
      } catch (err) {
        return registryPage(c, registry, refusal(err));
      }
      return c.redirect(`/console/admin/registries/${registry.id}`, 303);
    });
  }
}
