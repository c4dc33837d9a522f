import { expect } from "vitest";
import { call, createKey, createUser, type TestUser, uniqueIp } from "../helpers";

export interface Envelope {
  id: unknown;
  result: any;
  error: string | null;
}

/** POSTs a raw body to /_admin/api as kallithea-api does (text/plain); the answer is always HTTP 200. */
export async function rpcRaw(body: string, headers: Record<string, string> = {}): Promise<Envelope> {
  const response = await call("/_admin/api", {
    method: "POST",
    body,
    headers: { "content-type": "text/plain", "cf-connecting-ip": uniqueIp(), ...headers },
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  const envelope = JSON.parse(text) as Envelope;
  expect(Object.keys(envelope).sort()).toEqual(["error", "id", "result"]);
  // Exactly one of result and error is non-null.
  expect((envelope.result === null) !== (envelope.error === null), text).toBe(true);
  return envelope;
}

let nextId = 1;

/** Calls `method` with `args` (as kallithea-api: every value a string, unless given otherwise). */
export async function rpc(apiKey: string, method: string, args: Record<string, unknown> = {}): Promise<Envelope> {
  const id = nextId++;
  const envelope = await rpcRaw(JSON.stringify({ id, api_key: apiKey, method, args }));
  expect(envelope.id).toBe(id);
  return envelope;
}

export async function ok(apiKey: string, method: string, args: Record<string, unknown> = {}): Promise<any> {
  const envelope = await rpc(apiKey, method, args);
  expect(envelope.error, JSON.stringify(envelope)).toBeNull();
  return envelope.result;
}

export async function refused(apiKey: string, method: string, args: Record<string, unknown> = {}): Promise<string> {
  const envelope = await rpc(apiKey, method, args);
  expect(envelope.result).toBeNull();
  return envelope.error!;
}

/** A user with a plain (unscoped, never expiring) API key. */
export async function userWithKey(options: { superuser?: boolean } = {}): Promise<TestUser & { key: string; keyId: string }> {
  const user = await createUser(options);
  const { apiKey, uuid } = await createKey(user, { label: "rpc" });
  return { ...user, key: apiKey, keyId: uuid };
}
