import type { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../env";
import { listAuditEntries } from "../../services/audit";
import { type ConsoleContext, page } from "../context";
import { firstIssue, Notices, UtcTime, withoutBlanks } from "./shared";

const PAGE_SIZE = 50;

const AuditQuery = z.object({
  kind: z
    .string()
    .trim()
    .max(64, "A kind is at most 64 characters")
    .regex(/^[a-z0-9_.]+$/, "A kind looks like user.create or registry_token.update")
    .optional(),
  before: z
    .string()
    .regex(/^[1-9]\d{0,15}$/, "That page does not exist")
    .transform(Number)
    .optional(),
});

const auditHref = (kind: string | undefined, before?: number) => {
  const query = new URLSearchParams();
  if (kind) query.set("kind", kind);
  if (before !== undefined) query.set("before", String(before));
  const text = query.toString();
  return text ? `/console/admin/audit?${text}` : "/console/admin/audit";
};

const FilterForm = ({ kind }: { kind?: string }) => (
  <form method="get" action="/console/admin/audit">
    <label for="kind">Kind (exact, e.g. user.create; empty for all)</label>
    <input id="kind" name="kind" type="text" maxlength={64} value={kind ?? ""} autocomplete="off" />
    <div class="actions">
      <button type="submit">Filter</button>
      {kind && <a href="/console/admin/audit">Show all kinds</a>}
    </div>
  </form>
);

async function auditPage(c: ConsoleContext) {
  const parsed = AuditQuery.safeParse(withoutBlanks({ kind: c.req.query("kind") ?? "", before: c.req.query("before") ?? "" }));
  if (!parsed.success) {
    return page(
      c,
      "Audit log",
      <>
        <Notices outcome={{ error: firstIssue(parsed.error) }} />
        <FilterForm />
      </>,
      400,
    );
  }
  const { kind, before } = parsed.data;
  const { entries, nextBefore } = await listAuditEntries(c.get("db"), { limit: PAGE_SIZE, before, kind });
  return page(
    c,
    "Audit log",
    <>
      <FilterForm kind={kind} />
      <table>
        <caption class="muted">
          {kind ? `Entries of kind ${kind}` : "All entries"}, newest first{before !== undefined ? " (older page)" : ""}
        </caption>
        <thead>
          <tr>
            <th scope="col">At</th>
            <th scope="col">Kind</th>
            <th scope="col">Actor</th>
            <th scope="col">Target</th>
            <th scope="col">Address</th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.length === 0 && (
            <tr>
              <td colspan={6} class="muted">
                No entries.
              </td>
            </tr>
          )}
          {entries.map((e) => (
            <tr data-audit-id={e.id}>
              <td>
                <UtcTime at={e.at} />
              </td>
              <td>
                <code>{e.kind}</code>
              </td>
              <td>{e.actorName ?? <span class="muted">anonymous</span>}</td>
              <td>
                {e.targetType || e.targetId ? (
                  <>
                    {e.targetType ?? ""} <code>{e.targetId ?? ""}</code>
                  </>
                ) : (
                  <span class="muted">—</span>
                )}
              </td>
              <td>{e.ip ?? <span class="muted">—</span>}</td>
              <td>
                <code>{JSON.stringify(e.metadata)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav class="pager" aria-label="Audit log pages">
        {before !== undefined && <a href={auditHref(kind)}>Newest</a>}
        {nextBefore !== null && (
          <a href={auditHref(kind, nextBefore)} rel="next">
            Older
          </a>
        )}
      </nav>
    </>,
  );
}

export function auditPages(app: Hono<AppEnv>) {
  app.get("/admin/audit", (c) => auditPage(c));
}
