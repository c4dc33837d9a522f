import type { Hono } from "hono";
import { z } from "zod";
import { actorOf } from "../../auth/request";
import type { ServiceKey } from "../../db/schema";
import { reservedNames } from "../../domain/trust";
import type { AppEnv } from "../../env";
import { isPrintable } from "../../routes/common";
import { APPROVAL, approveServiceKey, deleteServiceKey, isKeyExpired, listServiceKeys } from "../../services/serviceKeys";
import { type ConsoleContext, csrfOf, formOf, page, staleRedirect } from "../context";
import { CsrfField, expiryText, PostButton, Time } from "../ui";
import { firstIssue, Notices, type Outcome, refusal, ShortId } from "./shared";

const ApproveForm = z.object({
  notes: z
    .string()
    .trim()
    .max(1024, "Notes are at most 1024 characters")
    .refine(isPrintable, "Use printable text in the notes")
    .default(""),
});

const Kid = z.string().min(1).max(256);

function approvalText(key: ServiceKey): string {
  if (!key.approvedAt) return "Awaiting approval";
  if (key.approvalType === APPROVAL.automatic) return "Approved automatically";
  if (key.approvalType === APPROVAL.rotation) return `Approved by rotation${key.approver ? ` (first by ${key.approver})` : ""}`;
  return key.approver ? `Approved by ${key.approver}` : "Approved";
}

async function serviceKeysPage(c: ConsoleContext, outcome?: Outcome) {
  const keys = await listServiceKeys(c.get("db"));
  const reserved = reservedNames(c.get("config"));
  const csrf = await csrfOf(c);
  return page(
    c,
    "Service keys",
    <>
      <Notices outcome={outcome} />
      <p class="muted">
        Keys that services registered through the keyserver wait here for a superuser's approval before their JWKS publishes them.
        keyward's own signing keys are listed read-only: keyward manages them (see Signing keys).
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Name</th>
            <th scope="col">Key ID</th>
            <th scope="col">Created</th>
            <th scope="col">Expiry</th>
            <th scope="col">Approval</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {keys.length === 0 && (
            <tr>
              <td colspan={7} class="muted">
                No service keys.
              </td>
            </tr>
          )}
          {keys.map((key, i) => {
            const label = `${key.service} key ${key.kid.slice(0, 12)}`;
            return (
              <tr class={isKeyExpired(key) ? "expired" : undefined} data-kid={key.kid}>
                <td>{key.service}</td>
                <td>{key.name ?? <span class="muted">none</span>}</td>
                <td>
                  <ShortId id={key.kid} />
                </td>
                <td>
                  <Time at={key.createdAt} />
                </td>
                <td>{expiryText(key.expiresAt)}</td>
                <td>{key.approvedAt ? approvalText(key) : <span class="badge">Awaiting approval</span>}</td>
                <td>
                  {reserved.has(key.service) ? (
                    <span class="muted">Managed by keyward</span>
                  ) : (
                    <>
                      {!key.approvedAt && (
                        <form method="post" action={`/console/admin/service-keys/${encodeURIComponent(key.kid)}/approve`}>
                          <CsrfField token={csrf} />
                          <label for={`notes-${i}`}>Approval notes (optional)</label>
                          <input id={`notes-${i}`} name="notes" type="text" maxlength={1024} />
                          <div class="actions">
                            <button type="submit" aria-label={`Approve ${label}`}>
                              Approve
                            </button>
                          </div>
                        </form>
                      )}
                      <PostButton
                        action={`/console/admin/service-keys/${encodeURIComponent(key.kid)}/delete`}
                        label="Delete"
                        csrf={csrf}
                        danger
                        name={label}
                      />
                    </>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>,
    outcome?.status ?? 200,
  );
}

export function serviceKeyPages(app: Hono<AppEnv>) {
  app.get("/admin/service-keys", (c) => serviceKeysPage(c));

  // Approving publishes a service's key: as sensitive here as on the API (fresh login).
  app.post("/admin/service-keys/:kid/approve", async (c) => {
    const stale = staleRedirect(c, "/console/admin/service-keys");
    if (stale) return stale;
    const kid = Kid.safeParse(c.req.param("kid"));
    if (!kid.success) return serviceKeysPage(c, { error: "No such service key.", status: 404 });
    const parsed = ApproveForm.safeParse(await formOf(c));
    if (!parsed.success) return serviceKeysPage(c, { error: firstIssue(parsed.error), status: 400 });
    try {
      await approveServiceKey(c.get("db"), c.get("config"), actorOf(c), kid.data, parsed.data.notes);
    } catch (err) {
      return serviceKeysPage(c, refusal(err));
    }
    return c.redirect("/console/admin/service-keys", 303);
  });

  app.post("/admin/service-keys/:kid/delete", async (c) => {
    const kid = Kid.safeParse(c.req.param("kid"));
    if (!kid.success) return serviceKeysPage(c, { error: "No such service key.", status: 404 });
    try {
      await deleteServiceKey(c.get("db"), c.get("config"), actorOf(c), kid.data);
    } catch (err) {
      return serviceKeysPage(c, refusal(err));
    }
    return c.redirect("/console/admin/service-keys", 303);
  });
}
