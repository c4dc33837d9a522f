import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";

export const ORIGIN = "https://keyward.test";
export const ADMIN = { username: env.KEYWARD_ADMIN_USER!, password: env.KEYWARD_ADMIN_PASSWORD! };

let counter = 0;
/** Storage is shared by the tests of a file: every test makes its own names. */
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A fresh client address per caller keeps the per-client failure counters apart. */
export function uniqueIp(): string {
  const n = Math.floor(Math.random() * 2 ** 24);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export function basic(username: string, password: string): string {
  const bytes = new TextEncoder().encode(`${username}:${password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

export interface CallOptions {
  method?: string;
  auth?: string;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** A request through the Worker's real fetch handler (exports.default), as a client sends it. */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.auth) headers.set("authorization", options.auth);
  if (!headers.has("cf-connecting-ip")) headers.set("cf-connecting-ip", "192.0.2.1");
  let body = options.body;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  }
  return exports.default.fetch(new Request(ORIGIN + path, { method: options.method ?? "GET", headers, body }));
}

export async function json<T = any>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, `${response.status} ${text}`).toBe(status);
  return (text ? JSON.parse(text) : undefined) as T;
}

export const adminAuth = () => basic(ADMIN.username, ADMIN.password);

export interface TestUser {
  username: string;
  password: string;
  auth: string;
}

/** Creates a user through the superuser API, as an operator would. */
export async function createUser(options: { superuser?: boolean } = {}): Promise<TestUser> {
  const username = uniqueName();
  const password = `pw-${crypto.randomUUID()}`;
  await json(
    await call("/api/v1/superuser/users/", {
      method: "POST",
      auth: adminAuth(),
      json: { username, password, email: `${username}@example.com`, ...options },
    }),
    200,
  );
  return { username, password, auth: basic(username, password) };
}

export async function createKey(
  user: TestUser,
  body: Record<string, unknown> = { label: "test" },
  path = "/v2/_zot/ext/apikey",
): Promise<{ uuid: string; apiKey: string } & Record<string, any>> {
  return json(await call(path, { method: "POST", auth: user.auth, json: body }), 201);
}
