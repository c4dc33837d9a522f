import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { Child } from "hono/jsx";
import { isFresh, principalFromSession, readSessionCookie, setSessionCookie } from "../auth/session";
import { csrfTokenFor, newNonce } from "../credentials/sessions";
import type { Principal } from "../domain/access";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";
import { Layout } from "./ui";

export type ConsoleContext = Context<AppEnv>;

/** The console signs in with the session cookie only (its forms carry the CSRF token). */
export const loadSession = createMiddleware<AppEnv>(async (c, next) => {
  c.set("principal", await principalFromSession(c));
  await next();
});

/** A page behind sign-in: anyone else is sent to the sign-in page, and back afterwards. */
export const requireSignedIn = createMiddleware<AppEnv>(async (c, next) => {
  if (!c.get("principal")) {
    const back = c.req.method === "GET" ? c.req.path : "/console";
    return c.redirect(`/console/signin?next=${encodeURIComponent(back)}`, 303);
  }
  await next();
});

export function signedIn(c: ConsoleContext): Principal {
  return c.get("principal")!;
}

/** Only a page of the console itself is a place to return to (no open redirect). */
export function safeNext(next: string | undefined | null): string {
  return next && /^\/console(\/[A-Za-z0-9_-]+)*\/?$/.test(next) ? next : "/console/keys";
}

/**
 * Sensitive actions through a session need a recent password (fresh login): a stale session
 * is sent to the verify page and then back to `back`.
 */
export function staleRedirect(c: ConsoleContext, back: string): Response | null {
  const principal = c.get("principal");
  if (principal && isFresh(c, principal)) return null;
  return c.redirect(`/console/verify?next=${encodeURIComponent(safeNext(back))}`, 303);
}

/** The nonce cookie set during this request (one per response, however often it is asked for). */
const issuedNonce = new WeakMap<ConsoleContext, string>();

/** The CSRF token for this browser's cookie; a browser without a cookie gets a nonce cookie. */
export async function csrfOf(c: ConsoleContext): Promise<string> {
  let value = issuedNonce.get(c) ?? readSessionCookie(c);
  if (!value) {
    value = newNonce();
    issuedNonce.set(c, value);
    setSessionCookie(c, value);
  }
  return csrfTokenFor(value, c.get("config"));
}

export async function page(c: ConsoleContext, title: string, body: Child, status: 200 | 400 | 403 | 404 | 409 | 429 = 200) {
  const csrf = await csrfOf(c);
  return c.html(
    <Layout title={title} nonce={c.get("secureHeadersNonce") ?? ""} principal={c.get("principal")} csrf={csrf} path={c.req.path}>
      {body}
    </Layout>,
    status,
  );
}

/** The posted form; a body that is no readable form (bad multipart, another charset) is a 400. */
async function parsedForm(c: ConsoleContext) {
  try {
    return await c.req.parseBody({ all: true });
  } catch {
    throw new ApiError("bad_request", "The form could not be read; reload the page and try again.");
  }
}

/** A form's fields as strings (a repeated field keeps its last value; files are ignored). */
export async function formOf(c: ConsoleContext): Promise<Record<string, string>> {
  const body = await parsedForm(c);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (typeof last === "string") out[key] = last;
  }
  return out;
}

/** Every value of a repeated field (checkboxes). */
export async function formAll(c: ConsoleContext, name: string): Promise<string[]> {
  const value = (await parsedForm(c))[name];
  return (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((v): v is string => typeof v === "string");
}
