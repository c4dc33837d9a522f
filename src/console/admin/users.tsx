import type { Hono } from "hono";
import { z } from "zod";
import { actorOf } from "../../auth/request";
import { isPasswordText } from "../../crypto/password";
import type { AppEnv } from "../../env";
import { createUser, listUsers, USERNAME_PATTERN, updateUser } from "../../services/users";
import { type ConsoleContext, csrfOf, formOf, page, signedIn, staleRedirect } from "../context";
import { CsrfField, PostButton, SecretOnce, Time } from "../ui";
import { firstIssue, Notices, type Outcome, refusal, withoutBlanks } from "./shared";

const NewUserForm = z.object({
  username: z
    .string({ error: "Enter a username" })
    .trim()
    .regex(USERNAME_PATTERN, "A username is 2-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"),
  email: z.email("Enter a valid email address, or leave it empty").max(254).optional(),
  password: z
    .string()
    .min(8, "A password needs at least 8 characters (or leave it empty to have one generated)")
    .max(1024, "That password is too long")
    .refine(isPasswordText, "A password cannot contain NUL characters or unpaired surrogates")
    .optional(),
  superuser: z.literal("on", "Invalid superuser field").optional(),
});

const PASSWORD_WARNING =
  "Hand this password to its user over a channel you trust, and ask them to change it at once. Whoever holds it can sign in as them; never paste it into a chat, a ticket or an email thread.";

async function usersPage(c: ConsoleContext, outcome?: Outcome & { created?: { username: string; password: string | null } }) {
  const users = await listUsers(c.get("db"));
  const csrf = await csrfOf(c);
  const me = signedIn(c).user;
  return page(
    c,
    "Users",
    <>
      {outcome?.created?.password && (
        <SecretOnce
          secret={outcome.created.password}
          what={`password for ${outcome.created.username}`}
          warning={PASSWORD_WARNING}
        />
      )}
      <Notices outcome={outcome} />
      <table>
        <caption class="muted">Every user of this keyward</caption>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Email</th>
            <th scope="col">Superuser</th>
            <th scope="col">Enabled</th>
            <th scope="col">Created</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((user) => (
            <tr class={user.enabled ? undefined : "expired"} data-username={user.username}>
              <td>{user.username}</td>
              <td>{user.email ?? <span class="muted">none</span>}</td>
              <td>{user.superuser ? <span class="badge">superuser</span> : "No"}</td>
              <td>{user.enabled ? "Yes" : <span class="badge">disabled</span>}</td>
              <td>
                <Time at={user.createdAt} />
              </td>
              <td>
                <Time at={user.lastLoginAt} />
              </td>
              <td>
                {user.id === me.id ? (
                  <span class="muted">you</span>
                ) : user.enabled ? (
                  <PostButton
                    action={`/console/admin/users/${user.username}/disable`}
                    label="Disable"
                    csrf={csrf}
                    danger
                    name={user.username}
                  />
                ) : (
                  <PostButton
                    action={`/console/admin/users/${user.username}/enable`}
                    label="Enable"
                    csrf={csrf}
                    name={user.username}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">
        Disabling a user ends their sessions and refresh tokens at once; their keys stop working until enabled again.
      </p>
      <form method="post" action="/console/admin/users">
        <fieldset>
          <legend>New user</legend>
          <CsrfField token={csrf} />
          <label for="username">Username</label>
          <input id="username" name="username" type="text" required maxlength={63} autocomplete="off" />
          <label for="email">Email (optional)</label>
          <input id="email" name="email" type="email" maxlength={254} autocomplete="off" />
          <label for="password">Password (optional: leave empty to have one generated and shown once)</label>
          <input id="password" name="password" type="password" minlength={8} maxlength={1024} autocomplete="new-password" />
          <div>
            <label class="check" for="superuser">
              <input id="superuser" name="superuser" type="checkbox" value="on" />
              Superuser (may administer all of keyward)
            </label>
          </div>
          <div class="actions">
            <button type="submit">Create user</button>
          </div>
        </fieldset>
      </form>
    </>,
    outcome?.status ?? 200,
  );
}

const UsernameParam = z.string().regex(USERNAME_PATTERN);

export function userPages(app: Hono<AppEnv>) {
  app.get("/admin/users", (c) => usersPage(c));

  app.post("/admin/users", async (c) => {
    const stale = staleRedirect(c, "/console/admin/users");
    if (stale) return stale;
    const parsed = NewUserForm.safeParse(withoutBlanks(await formOf(c)));
    if (!parsed.success) return usersPage(c, { error: firstIssue(parsed.error), status: 400 });
    const { username, email, password, superuser } = parsed.data;
    try {
      const { user, generatedPassword } = await createUser(c.get("db"), c.get("config"), actorOf(c), {
        username,
        email: email ?? null,
        password,
        superuser: superuser === "on",
      });
      return usersPage(c, {
        ok: `User ${user.username} created.`,
        created: { username: user.username, password: generatedPassword },
      });
    } catch (err) {
      return usersPage(c, refusal(err));
    }
  });

  for (const [action, enabled] of [
    ["disable", false],
    ["enable", true],
  ] as const) {
    app.post(`/admin/users/:username/${action}`, async (c) => {
      const stale = staleRedirect(c, "/console/admin/users");
      if (stale) return stale;
      const username = UsernameParam.safeParse(c.req.param("username"));
      if (!username.success) return usersPage(c, { error: "No such user.", status: 404 });
      try {
        await updateUser(c.get("db"), c.get("config"), actorOf(c), username.data, { enabled });
      } catch (err) {
        return usersPage(c, refusal(err));
      }
      return c.redirect("/console/admin/users", 303);
    });
  }
}
