import type { FC } from "hono/jsx";
import { ApiError } from "../../errors";

/* What the superuser pages share: notices, and a service's refusal in the page's words. */

export type PageStatus = 200 | 400 | 403 | 404 | 409;

export interface Outcome {
  error?: string;
  ok?: string;
  status?: PageStatus;
}

/** The error (role=alert) or the confirmation above a page's content. */
export const Notices: FC<{ outcome?: Outcome }> = ({ outcome }) => (
  <>
    {outcome?.error && (
      <p class="notice warning" role="alert">
        {outcome.error}
      </p>
    )}
    {outcome?.ok && (
      <p class="notice ok" role="status">
        {outcome.ok}
      </p>
    )}
  </>
);

/** A service's refusal (bad input, conflict, not found…) as a message and a status; anything else is a real error. */
export function refusal(err: unknown): { error: string; status: PageStatus } {
  if (err instanceof ApiError && err.code !== "internal" && err.code !== "misconfigured") {
    const status: PageStatus = err.status === 404 ? 404 : err.status === 409 ? 409 : err.status === 403 ? 403 : 400;
    return { error: err.message, status };
  }
  throw err;
}

/** A form's empty fields as absent, so that optional fields validate as "not given". */
export function withoutBlanks(form: Record<string, string>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(form).map(([k, v]) => [k, v.trim() === "" ? undefined : v]));
}

/** The first problem zod found, as a sentence for the page. */
export function firstIssue(error: { issues: { message: string }[] }): string {
  return error.issues[0]?.message ?? "Check the form and try again.";
}

/** A long id shortened for a table cell (the full one is in the title). */
export const ShortId: FC<{ id: string }> = ({ id }) => <code title={id}>{id.length > 16 ? `${id.slice(0, 12)}…` : id}</code>;

/** An exact UTC time (the audit log and signing keys want precision, not "3 days ago"). */
export const UtcTime: FC<{ at: Date | null }> = ({ at }) =>
  at ? (
    <time datetime={at.toISOString()}>
      {at
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d{3}Z$/, " UTC")}
    </time>
  ) : (
    <span class="muted">—</span>
  );
