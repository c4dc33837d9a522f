import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { adminAuth, call, createKey, createUser, json, type TestUser } from "./helpers";

let user: TestUser;
beforeAll(async () => {
  user = await createUser();
});

const ZOT = "/v2/_zot/ext/apikey";

/** Nothing half-written anywhere: users, keys and audit entries stay as they were. */
async function rowCounts() {
  const count = async (table: string) => (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
  return { users: await count("users"), apiKeys: await count("api_keys"), audit: await count("audit_log") };
}
const USERS = "/api/v1/superuser/users";
const big = "x".repeat(9 * 1024);

interface BadCase {
  name: string;
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  asAdmin?: boolean;
  status: number;
  code: string;
  mentions?: string;
}

const cases: BadCase[] = [
  {
    name: "zot: malformed JSON",
    method: "POST",
    path: ZOT,
    body: '{"label": ',
    status: 400,
    code: "bad_request",
    mentions: "JSON",
  },
  { name: "zot: JSON that is not an object", method: "POST", path: ZOT, body: "[1,2]", status: 400, code: "validation_failed" },
  {
    name: "zot: missing label",
    method: "POST",
    path: ZOT,
    body: "{}",
    status: 400,
    code: "validation_failed",
    mentions: "label",
  },
  {
    name: "zot: empty label",
    method: "POST",
    path: ZOT,
    body: '{"label":"  "}',
    status: 400,
    code: "validation_failed",
    mentions: "label",
  },
  {
    name: "zot: label of the wrong type",
    method: "POST",
    path: ZOT,
    body: '{"label":42}',
    status: 400,
    code: "validation_failed",
    mentions: "label",
  },
  {
    name: "zot: scopes not an array",
    method: "POST",
    path: ZOT,
    body: '{"label":"a","scopes":"repo1"}',
    status: 400,
    code: "validation_failed",
    mentions: "scopes",
  },
  {
    name: "zot: scope that is no repository name",
    method: "POST",
    path: ZOT,
    body: '{"label":"a","scopes":["UPPER case"]}',
    status: 400,
    code: "validation_failed",
    mentions: "scopes.0",
  },
  {
    name: "zot: unknown field",
    method: "POST",
    path: ZOT,
    body: '{"label":"a","admin":true}',
    status: 400,
    code: "validation_failed",
    mentions: "admin",
  },
  {
    name: "zot: expirationDate in the past",
    method: "POST",
    path: ZOT,
    body: '{"label":"a","expirationDate":"2001-01-01T00:00:00Z"}',
    status: 400,
    code: "bad_request",
    mentions: "future",
  },
  {
    name: "zot: expirationDate not RFC 3339",
    method: "POST",
    path: ZOT,
    body: '{"label":"a","expirationDate":"next tuesday"}',
    status: 400,
    code: "validation_failed",
    mentions: "expirationDate",
  },
  {
    name: "zot: body over 8 KiB",
    method: "POST",
    path: ZOT,
    body: JSON.stringify({ label: big }),
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "zot: unsupported content type",
    method: "POST",
    path: ZOT,
    body: "<label/>",
    contentType: "application/xml",
    status: 415,
    code: "unsupported_media_type",
  },
  { name: "zot: DELETE without id", method: "DELETE", path: ZOT, status: 400, code: "validation_failed", mentions: "id" },
  {
    name: "zot: DELETE with a bad uuid",
    method: "DELETE",
    path: `${ZOT}?id=not-a-uuid`,
    status: 400,
    code: "validation_failed",
    mentions: "id",
  },
  {
    name: "zot: DELETE with two ids",
    method: "DELETE",
    path: `${ZOT}?id=6f1c3a52-3b1e-4d2a-9c1e-2b7f0c1d2e3f&id=7f1c3a52-3b1e-4d2a-9c1e-2b7f0c1d2e3f`,
    status: 400,
    code: "validation_failed",
    mentions: "id",
  },
  {
    name: "zot: DELETE of an unknown uuid",
    method: "DELETE",
    path: `${ZOT}?id=6f1c3a52-3b1e-4d2a-9c1e-2b7f0c1d2e3f`,
    status: 404,
    code: "not_found",
  },
  { name: "users: not a superuser", method: "GET", path: USERS, status: 403, code: "forbidden" },
  { name: "users: malformed JSON", method: "POST", path: USERS, asAdmin: true, body: "{nope", status: 400, code: "bad_request" },
  {
    name: "users: bad username",
    method: "POST",
    path: USERS,
    asAdmin: true,
    body: '{"username":"Bad Name!"}',
    status: 400,
    code: "validation_failed",
    mentions: "username",
  },
  {
    name: "users: bad email",
    method: "POST",
    path: USERS,
    asAdmin: true,
    body: '{"username":"okname","email":"nope"}',
    status: 400,
    code: "validation_failed",
    mentions: "email",
  },
  {
    name: "users: short password",
    method: "POST",
    path: USERS,
    asAdmin: true,
    body: '{"username":"okname","password":"short"}',
    status: 400,
    code: "validation_failed",
    mentions: "password",
  },
  {
    name: "users: superuser not a boolean",
    method: "POST",
    path: USERS,
    asAdmin: true,
    body: '{"username":"okname","superuser":"yes"}',
    status: 400,
    code: "validation_failed",
    mentions: "superuser",
  },
  {
    name: "users: unknown field",
    method: "POST",
    path: USERS,
    asAdmin: true,
    body: '{"username":"okname","role":"god"}',
    status: 400,
    code: "validation_failed",
    mentions: "role",
  },
  {
    name: "users: body over 8 KiB",
    method: "POST",
    path: USERS,
    asAdmin: true,
    body: JSON.stringify({ username: "okname", email: big }),
    status: 413,
    code: "payload_too_large",
  },
  {
    name: "users: get with a bad username",
    method: "GET",
    path: `${USERS}/NOT%20OK`,
    asAdmin: true,
    status: 400,
    code: "validation_failed",
  },
  {
    name: "users: get an unknown user",
    method: "GET",
    path: `${USERS}/nobody-here`,
    asAdmin: true,
    status: 404,
    code: "not_found",
  },
  {
    name: "users: put an unknown field",
    method: "PUT",
    path: `${USERS}/nobody-here`,
    asAdmin: true,
    body: '{"shell":"/bin/sh"}',
    status: 400,
    code: "validation_failed",
    mentions: "shell",
  },
  {
    name: "users: put enabled of the wrong type",
    method: "PUT",
    path: `${USERS}/nobody-here`,
    asAdmin: true,
    body: '{"enabled":1}',
    status: 400,
    code: "validation_failed",
    mentions: "enabled",
  },
  {
    name: "users: delete an unknown user",
    method: "DELETE",
    path: `${USERS}/nobody-here`,
    asAdmin: true,
    status: 404,
    code: "not_found",
  },
  {
    name: "logs: limit out of range",
    method: "GET",
    path: "/api/v1/superuser/logs?limit=0",
    asAdmin: true,
    status: 400,
    code: "validation_failed",
    mentions: "limit",
  },
  {
    name: "logs: bad next_page",
    method: "GET",
    path: "/api/v1/superuser/logs?next_page=abc",
    asAdmin: true,
    status: 400,
    code: "validation_failed",
    mentions: "next_page",
  },
  {
    name: "logs: unknown parameter",
    method: "GET",
    path: "/api/v1/superuser/logs?since=yesterday",
    asAdmin: true,
    status: 400,
    code: "validation_failed",
  },
  { name: "unknown route", method: "GET", path: "/no/such/thing", status: 404, code: "not_found" },
];

describe.each(cases)("bad input: $name", (bad) => {
  it(`answers ${bad.status} ${bad.code} and changes nothing`, async () => {
    const keysBefore = (await json(await call(ZOT, { auth: user.auth }), 200)).apiKeys.length;
    const rowsBefore = await rowCounts();
    const response = await call(bad.path, {
      method: bad.method,
      auth: bad.asAdmin ? adminAuth() : user.auth,
      body: bad.body,
      headers: bad.body ? { "content-type": bad.contentType ?? "application/json" } : {},
    });
    const body = await json(response, bad.status);
    expect(body.error.code).toBe(bad.code);
    expect(body.error.requestId).toMatch(/^[0-9a-f-]{36}$/);
    if (bad.mentions) expect(body.error.message).toContain(bad.mentions);
    const keysAfter = (await json(await call(ZOT, { auth: user.auth }), 200)).apiKeys.length;
    expect(keysAfter).toBe(keysBefore);
    expect(await rowCounts()).toEqual(rowsBefore);
  });
});

describe("oversize bodies without Content-Length", () => {
  it("are cut off at 8 KiB on key routes (chunked)", async () => {
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode("x".repeat(1024)));
        controller.close();
      },
    });
    const response = await call(ZOT, {
      method: "POST",
      auth: user.auth,
      body: stream,
      headers: { "content-type": "application/json" },
    });
    expect((await json(response, 413)).error.code).toBe("payload_too_large");
  });
});

describe("keys created at one path are the same keys at the other", () => {
  it("lists a key made at zot's seed path at its current path", async () => {
    const key = await createKey(user, { label: "both" });
    const listed = await json(await call("/zot/auth/apikey", { auth: user.auth }), 200);
    expect(listed.apiKeys.map((k: any) => k.uuid)).toContain(key.uuid);
  });
});
