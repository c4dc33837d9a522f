import { afterEach, describe, expect, it, vi } from "vitest";
import { bearer, call, createKey, createUser, json, uniqueIp } from "./helpers";

/* keyward's native REST for the caller's own keys of every kind (zot, built-in, extra). */

const PATH = "/api/v1/user/apikeys";
const VIEW_FIELDS = [
  "createdAt",
  "creatorUa",
  "deprecatedSecrets",
  "description",
  "expired",
  "expiresAt",
  "id",
  "kind",
  "label",
  "lastUsedAt",
  "lastUsedIp",
  "parentId",
  "scopes",
].sort();

afterEach(() => {
  vi.useRealTimers();
});

describe("/api/v1/user/apikeys", () => {
  it("lists every kind of the caller's keys, the built-in first, never a secret", async () => {
    const user = await createUser();
    const zot = await createKey(user, { label: "zot key" });
    const builtin = await json(await call(`${PATH}/builtin`, { method: "POST", auth: user.auth }), 201);
    const extra = await json(
      await call(PATH, { method: "POST", auth: user.auth, json: { description: "ci", lifetime: 1440 } }),
      201,
    );
    const { apiKeys } = await json(await call(PATH, { auth: user.auth }), 200);
    expect(apiKeys.map((k: any) => [k.kind, k.id])).toEqual([
      ["builtin", builtin.id],
      ["extra", extra.id],
      ["zot", zot.uuid],
    ]);
    for (const key of apiKeys) expect(Object.keys(key).sort()).toEqual(VIEW_FIELDS);
    const text = JSON.stringify(apiKeys);
    for (const secret of [zot.apiKey, builtin.apiKey, extra.apiKey]) expect(text).not.toContain(secret);
    expect(apiKeys[0]).toMatchObject({ description: "Built-in", expiresAt: null, expired: false, scopes: null });
  });

  it("creates an extra key with a lifetime in minutes (-1: forever), the secret once", async () => {
    const user = await createUser();
    const before = Date.now();
    const key = await json(
      await call(PATH, { method: "POST", auth: user.auth, json: { description: "nightly", lifetime: 60 } }),
      201,
    );
    expect(key).toMatchObject({ kind: "extra", description: "nightly", label: "nightly", expired: false });
    expect(key.apiKey).toMatch(/^zak_/);
    const expiresAt = Date.parse(key.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 60 * 60_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 60 * 60_000);
    const forever = await json(
      await call(PATH, { method: "POST", auth: user.auth, json: { description: "f", lifetime: -1 } }),
      201,
    );
    expect(forever.expiresAt).toBeNull();
    // It works wherever an API key works.
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey) }), 200);
  });

  it("lists an expired extra key as expired, and refuses it", async () => {
    const user = await createUser();
    const key = await json(
      await call(PATH, { method: "POST", auth: user.auth, json: { description: "five", lifetime: 5 } }),
      201,
    );
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    // From an address of its own: attempts dated 6 minutes ahead would fill this client's
    // failure bucket for the tests after this one.
    const headers = { "cf-connecting-ip": uniqueIp() };
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey), headers }), 401);
    const { apiKeys } = await json(await call(PATH, { auth: user.auth, headers }), 200);
    expect(apiKeys.find((k: any) => k.id === key.id)).toMatchObject({ expired: true });
  });

  it("resets the built-in key: the old secret is refused on the next request", async () => {
    const user = await createUser();
    const first = await json(await call(`${PATH}/builtin`, { method: "POST", auth: user.auth }), 201);
    await json(await call("/api/v1/user/", { auth: bearer(first.apiKey) }), 200);
    const second = await json(await call(`${PATH}/builtin`, { method: "POST", auth: user.auth }), 201);
    await json(await call("/api/v1/user/", { auth: bearer(first.apiKey) }), 401);
    await json(await call("/api/v1/user/", { auth: bearer(second.apiKey) }), 200);
  });

  it("a key made with the built-in key cannot reset it (it would die with the reset)", async () => {
    const user = await createUser();
    const builtin = await json(await call(`${PATH}/builtin`, { method: "POST", auth: user.auth }), 201);
    const child = await createKey({ ...user, auth: bearer(builtin.apiKey) }, { label: "child" });
    const refused = await json(await call(`${PATH}/builtin`, { method: "POST", auth: bearer(child.apiKey) }), 403);
    expect(refused.error.message).toMatch(/made with the built-in key/);
    await json(await call("/api/v1/user/", { auth: bearer(builtin.apiKey) }), 200);
  });

  it("a built-in key reset by another key dies with that key", async () => {
    const user = await createUser();
    const zot = await createKey(user, { label: "resetter" });
    const builtin = await json(await call(`${PATH}/builtin`, { method: "POST", auth: bearer(zot.apiKey) }), 201);
    expect(builtin.parentId).toBe(zot.uuid);
    await json(await call(`${PATH}/${zot.uuid}`, { method: "DELETE", auth: user.auth }), 204);
    await json(await call("/api/v1/user/", { auth: bearer(builtin.apiKey) }), 401);
  });

  it("revokes the caller's own key (204); someone else's is 404", async () => {
    const user = await createUser();
    const other = await createUser();
    const key = await createKey(user);
    await json(await call(`${PATH}/${key.uuid}`, { method: "DELETE", auth: other.auth }), 404);
    await json(await call(`${PATH}/${key.uuid}`, { method: "DELETE", auth: user.auth }), 204);
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey) }), 401);
    await json(await call(`${PATH}/${key.uuid}`, { method: "DELETE", auth: user.auth }), 404);
  });
});

describe("bad input", () => {
  it.each<[string, string | undefined, number, RegExp]>([
    ["malformed JSON", "{", 400, /JSON/i],
    ["an unknown field", '{"description":"x","lifetime":5,"admin":true}', 400, /admin/],
    ["a string lifetime", '{"description":"x","lifetime":"5"}', 400, /lifetime/],
    ["a zero lifetime", '{"description":"x","lifetime":0}', 400, /lifetime/],
    ["a fractional lifetime", '{"description":"x","lifetime":1.5}', 400, /lifetime/],
    ["an empty description", '{"description":" ","lifetime":5}', 400, /description/],
    ["an invisible character", '{"description":"a\\u202eb","lifetime":5}', 400, /description/],
    ["a body over 8 KiB", JSON.stringify({ description: "x".repeat(9000), lifetime: 5 }), 413, /larger/],
  ])("%s → %i", async (_name, body, status, message) => {
    const user = await createUser();
    const response = await call(PATH, { method: "POST", auth: user.auth, body, headers: { "content-type": "application/json" } });
    const answer = await json(response, status);
    expect(answer.error.message).toMatch(message);
    const { apiKeys } = await json(await call(PATH, { auth: user.auth }), 200);
    expect(apiKeys).toHaveLength(0);
  });

  it("a bad id is 400; no credentials 401", async () => {
    const user = await createUser();
    await json(await call(`${PATH}/not-a-uuid`, { method: "DELETE", auth: user.auth }), 400);
    await json(await call(PATH), 401);
    await json(await call(`${PATH}/builtin`, { method: "POST" }), 401);
  });
});
