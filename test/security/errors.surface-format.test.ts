import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { adminAuth, type CallOptions, call, json, ORIGIN } from "../helpers";

/**
 * Every error answers in the format of the surface its path belongs to (SPEC §5), including
 * the ones raised before the surface's router runs: the root body limit, 404, 405, 415 and a
 * broken configuration (503). A client of /v2/auth or /registries parses only its own format.
 */

type Surface = "keyward" | "docker" | "ionos" | "quay" | "kallithea";

/** The exact body each surface answers with; `code` is in the surface's own vocabulary. */
function bodyOf(surface: Surface, status: number, code: string, message: unknown) {
  switch (surface) {
    case "keyward":
      return { error: { code, message, requestId: expect.any(String) } };
    case "docker":
      return { errors: [{ code, message }] };
    case "ionos":
      return { httpStatus: status, messages: [{ errorCode: code, message }] };
    case "quay":
      // keyward's error object beside Quay's fields.
      return {
        error: { code, message, requestId: expect.any(String) },
        error_message: message,
        error_type: code,
        title: code,
        status,
        detail: message,
        type: `${ORIGIN}/api/v1/error/${code}`,
      };
    case "kallithea":
      return { id: null, result: null, error: message };
  }
}

const TOO_BIG = 70 * 1024;
const formBody = `grant_type=password&service=registry.local&password=${"x".repeat(TOO_BIG)}`;
const jsonBody = JSON.stringify({ name: "x".repeat(TOO_BIG) });
const form = { "content-type": "application/x-www-form-urlencoded" };
const jsonType = { "content-type": "application/json" };

interface Case {
  name: string;
  path: string;
  options: CallOptions;
  status: number;
  surface: Surface;
  code: string;
  message?: unknown;
  headers?: Record<string, string>;
}

const cases: Case[] = [
  {
    name: "a 70 KiB body on POST /v2/auth",
    path: "/v2/auth",
    options: { method: "POST", body: formBody, headers: form },
    status: 413,
    surface: "docker",
    code: "INVALID_REQUEST",
    message: "Request body is larger than 65536 bytes",
  },
  {
    name: "a 70 KiB body on POST /registries",
    path: "/registries",
    options: { method: "POST", body: jsonBody, headers: jsonType },
    status: 413,
    surface: "ionos",
    code: "PAYLOAD_TOO_LARGE",
    message: "Request body is larger than 65536 bytes",
  },
  {
    name: "a 70 KiB body on a zot key route",
    path: "/v2/_zot/ext/apikey",
    options: { method: "POST", body: jsonBody, headers: jsonType },
    status: 413,
    surface: "keyward",
    code: "payload_too_large",
    message: "Request body is larger than 65536 bytes",
  },
  {
    name: "an unknown route under /v2/auth",
    path: "/v2/auth/xyz",
    options: {},
    status: 404,
    surface: "docker",
    code: "INVALID_REQUEST",
    message: "No route for GET /v2/auth/xyz",
  },
  {
    name: "an unknown route under /registries/<id>",
    path: `/registries/${crypto.randomUUID()}/nope`,
    options: {},
    status: 404,
    surface: "ionos",
    code: "NOT_FOUND",
  },
  {
    name: "an unknown route elsewhere",
    path: "/no/such/route",
    options: {},
    status: 404,
    surface: "keyward",
    code: "not_found",
    message: "No route for GET /no/such/route",
  },
  {
    name: "PATCH /v2/auth",
    path: "/v2/auth",
    options: { method: "PATCH" },
    status: 405,
    surface: "docker",
    code: "INVALID_REQUEST",
    headers: { allow: "GET, HEAD, POST" },
  },
  {
    name: "DELETE /registries",
    path: "/registries",
    options: { method: "DELETE" },
    status: 405,
    surface: "ionos",
    code: "METHOD_NOT_ALLOWED",
    headers: { allow: "GET, HEAD, POST" },
  },
  {
    name: "PUT on a zot key route",
    path: "/v2/_zot/ext/apikey",
    options: { method: "PUT" },
    status: 405,
    surface: "keyward",
    code: "method_not_allowed",
    headers: { allow: "GET, HEAD, POST, DELETE" },
  },
  {
    name: "a JSON body on POST /v2/auth",
    path: "/v2/auth",
    options: { method: "POST", json: { grant_type: "password", service: "registry.local" } },
    status: 415,
    surface: "docker",
    code: "INVALID_REQUEST",
    message: "Content-Type must be application/x-www-form-urlencoded",
  },
  {
    name: "an XML body on a zot key route",
    path: "/v2/_zot/ext/apikey",
    options: {
      method: "POST",
      auth: adminAuth(),
      body: "<label>x</label>",
      headers: { "content-type": "application/xml" },
    },
    status: 415,
    surface: "keyward",
    code: "unsupported_media_type",
    message: "Content-Type must be application/json",
  },
];

describe.each(cases)("$name", ({ path, options, status, surface, code, message, headers }) => {
  it(`answers ${status} in ${surface}'s format`, async () => {
    const response = await call(path, options);
    const body = await json(response, status);
    expect(body).toEqual(bodyOf(surface, status, code, message ?? expect.any(String)));
    for (const [name, value] of Object.entries(headers ?? {})) expect(response.headers.get(name)).toBe(value);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});

/** The Worker's fetch with production settings and no pepper: a fresh env, so a fresh config. */
async function callBroken(path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const brokenEnv = { ...env, KEYWARD_ENV: "production", KEYWARD_PEPPER: "" };
  const response = await worker.fetch(new Request(ORIGIN + path), brokenEnv, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const pepperNamed = expect.stringContaining("KEYWARD_PEPPER is not set");

describe.each([
  { path: "/api/v1/user/", surface: "quay", code: "misconfigured" },
  { path: "/v2/_zot/ext/apikey", surface: "keyward", code: "misconfigured" },
  { path: "/v2/auth?service=registry.local", surface: "docker", code: "UNAVAILABLE" },
  { path: "/registries", surface: "ionos", code: "MISCONFIGURED" },
] as const)("a missing pepper in production, on $path", ({ path, surface, code }) => {
  it(`answers 503 in ${surface}'s format, naming the setting`, async () => {
    const body = await json(await callBroken(path), 503);
    expect(body).toEqual(bodyOf(surface, 503, code, pepperNamed));
  });
});

describe.each(["/healthz", "/readyz"])("%s with a broken configuration", (path) => {
  it("still answers 200: health does no config or bootstrap work", async () => {
    const response = await callBroken(path);
    expect(await json(response, 200)).toEqual({ status: "ok" });
    expect(response.headers.get("cache-control")).toBe("no-store");
  });
});
