import type { Hono } from "hono";
import { actorOf } from "../../auth/request";
import type { AppEnv } from "../../env";
import { listSigningKeys, rotateSigningKeyNow } from "../../services/signingKeys";
import { type ConsoleContext, csrfOf, page, staleRedirect } from "../context";
import { CsrfField, expiryText, Time } from "../ui";
import { Notices, type Outcome, refusal, UtcTime } from "./shared";

async function signingKeysPage(c: ConsoleContext, outcome?: Outcome) {
  const keys = await listSigningKeys(c.get("db"));
  const csrf = await csrfOf(c);
  return page(
    c,
    "Signing keys",
    <>
      <Notices outcome={outcome} />
      <p class="muted">
        keyward signs every token with its active key. After a rotation the older keys stay published (retiring) until every token
        they signed has expired, then leave the JWKS.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Key ID</th>
            <th scope="col">Algorithm</th>
            <th scope="col">State</th>
            <th scope="col">Created</th>
            <th scope="col">Expiry</th>
          </tr>
        </thead>
        <tbody>
          {keys.length === 0 && (
            <tr>
              <td colspan={5} class="muted">
                No signing key yet: keyward makes one when it first signs a token.
              </td>
            </tr>
          )}
          {keys.map(({ key, state }) => (
            <tr data-kid={key.kid} data-state={state}>
              <td>
                <code>{key.kid}</code>
              </td>
              <td>{key.alg}</td>
              <td>{state === "active" ? <span class="badge">active</span> : <span class="muted">retiring</span>}</td>
              <td>
                <Time at={key.createdAt} />
              </td>
              <td>
                {expiryText(key.expiresAt)} (<UtcTime at={key.expiresAt} />)
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/console/admin/signing-keys/rotate">
        <CsrfField token={csrf} />
        <p>
          Rotate now if a signing key may have leaked, or to change the algorithm after a configuration change: a new key signs
          every token from now on.
        </p>
        <div class="actions">
          <button type="submit" class="danger">
            Rotate now
          </button>
        </div>
      </form>
    </>,
    outcome?.status ?? 200,
  );
}

export function signingKeyPages(app: Hono<AppEnv>) {
  app.get("/admin/signing-keys", (c) => signingKeysPage(c));

  app.post("/admin/signing-keys/rotate", async (c) => {
    const stale = staleRedirect(c, "/console/admin/signing-keys");
    if (stale) return stale;
    try {
      await rotateSigningKeyNow(c.get("db"), c.get("config"), actorOf(c));
    } catch (err) {
      return signingKeysPage(c, refusal(err));
    }
    return c.redirect("/console/admin/signing-keys", 303);
  });
}
