import { describe, expect, it } from "vitest";
import { generateSecret } from "../../src/crypto/secrets";
import { pythonBytesRepr } from "../../src/routes/kallithea/envelope";
import { call, uniqueIp } from "../helpers";
import { rpcRaw, userWithKey } from "./support";

/*
 * Kallithea's envelope, error by error, in Kallithea's parsing order and with its strings
 * (kallithea/controllers/api/__init__.py). Every answer is HTTP 200 {id, result, error}.
 */

const user = await userWithKey();
const body = (fields: Record<string, unknown>) => JSON.stringify(fields);

describe.each<[string, string, unknown, string]>([
  ["an empty body", "", null, "Content-Length is 0"],
  [
    "a body that is not JSON",
    "not json",
    null,
    "JSON parse error ERR:Unexpected token 'o', \"not json\" is not valid JSON RAW:b'not json'",
  ],
  ["a JSON array", "[1, 2]", null, "Incorrect JSON query: the body must be a JSON object"],
  ["a JSON string", '"hello"', null, "Incorrect JSON query: the body must be a JSON object"],
  ["JSON null", "null", null, "Incorrect JSON query: the body must be a JSON object"],
  ["no api_key (id not read yet)", body({ id: 7, method: "get_user", args: {} }), null, "Incorrect JSON query missing 'api_key'"],
  ["no id", body({ api_key: user.key, method: "get_user", args: {} }), null, "Incorrect JSON query missing 'id'"],
  ["no method (id echoed)", body({ id: 7, api_key: user.key, args: {} }), 7, "Incorrect JSON query missing 'method'"],
  ["no args", body({ id: "x", api_key: user.key, method: "get_user" }), "x", "Incorrect JSON query missing 'args'"],
  ["an unknown key", body({ id: 1, api_key: generateSecret("zak"), method: "get_user", args: {} }), 1, "Invalid API key"],
  ["a malformed key", body({ id: 1, api_key: "zak_nope", method: "get_user", args: {} }), 1, "Invalid API key"],
  ["a password as the key", body({ id: 1, api_key: user.password, method: "get_user", args: {} }), 1, "Invalid API key"],
  ["a registry token", body({ id: 1, api_key: generateSecret("krt"), method: "get_user", args: {} }), 1, "Invalid API key"],
  ["a non-string key", body({ id: 1, api_key: 42, method: "get_user", args: {} }), 1, "Invalid API key"],
  ["a private method", body({ id: 2, api_key: user.key, method: "_find_method", args: {} }), 2, "Method not allowed"],
  ["an unknown method", body({ id: 3, api_key: user.key, method: "pull", args: {} }), 3, "No such method: pull"],
  ["a non-string method", body({ id: 3, api_key: user.key, method: 5, args: {} }), 3, "No such method: 5"],
  [
    "a missing argument",
    body({ id: 4, api_key: user.key, method: "delete_user", args: {} }),
    4,
    "Missing non optional `userid` arg in JSON DATA",
  ],
  [
    "unknown arguments",
    body({ id: 5, api_key: user.key, method: "get_user", args: { a: 1, b: 2 } }),
    5,
    "Unknown `a`, `b` arg in JSON DATA",
  ],
  [
    "a bad argument value",
    body({ id: 6, api_key: user.key, method: "create_api_key", args: { description: "x", lifetime: "soon" } }),
    6,
    "Invalid value for `lifetime`: must be a whole number",
  ],
])("%s", (_name, raw, id, error) => {
  it("answers HTTP 200 with Kallithea's error", async () => {
    const envelope = await rpcRaw(raw);
    expect(envelope).toEqual({ id, result: null, error });
  });
});

describe("the envelope", () => {
  it("ignores extra top-level keys and treats non-object args as {}", async () => {
    for (const args of [null, 1, "x", [1]]) {
      const envelope = await rpcRaw(body({ id: 9, api_key: user.key, method: "get_user", args, extra: true }));
      expect(envelope.error).toBeNull();
      expect(envelope.result.username).toBe(user.username);
    }
  });

  it("takes JSON as well as text/plain, and any id type", async () => {
    for (const id of [1, "abc", null, { a: 1 }]) {
      const envelope = await rpcRaw(body({ id, api_key: user.key, method: "get_user", args: {} }), {
        "content-type": "application/json",
      });
      expect(envelope.id).toEqual(id);
      expect(envelope.result.username).toBe(user.username);
    }
  });

  it("never echoes a keyward secret from a malformed body", async () => {
    const secret = generateSecret("zak");
    const envelope = await rpcRaw(`{"api_key": "${secret}", `);
    expect(envelope.error).toMatch(/^JSON parse error ERR:/);
    expect(envelope.error).not.toContain(secret.slice(4));
    expect(envelope.error).toContain("zak_<redacted>");
  });

  it("answers an oversize body (over 8 KiB) in the envelope, HTTP 200", async () => {
    const big = body({ id: 1, api_key: user.key, method: "get_user", args: { pad: "x".repeat(9000) } });
    expect(await rpcRaw(big)).toEqual({ id: null, result: null, error: "Request body is larger than 8192 bytes" });
  });

  it("answers other methods and unknown paths under /_admin/api in the envelope", async () => {
    const get = await call("/_admin/api", { headers: { "cf-connecting-ip": uniqueIp() } });
    expect(get.status).toBe(200);
    const envelope = await get.json<any>();
    expect(envelope).toMatchObject({ id: null, result: null });
    expect(envelope.error).toContain("GET is not allowed");
    expect(get.headers.get("allow")).toBe("POST");
  });

  it("renders Python's bytes repr as Kallithea's %r does", () => {
    expect(pythonBytesRepr("abc")).toBe("b'abc'");
    expect(pythonBytesRepr("it's")).toBe(`b"it's"`);
    expect(pythonBytesRepr(`it's "x"`)).toBe(`b'it\\'s "x"'`);
    expect(pythonBytesRepr("a\nb\t\\")).toBe("b'a\\nb\\t\\\\'");
    expect(pythonBytesRepr("é\u0001")).toBe("b'\\xc3\\xa9\\x01'");
  });
});
