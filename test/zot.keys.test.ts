import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { adminAuth, basic, bearer, call, createKey, createUser, json, ORIGIN } from "./helpers";

const PATHS = ["/v2/_zot/ext/apikey", "/zot/auth/apikey"];

describe.each(PATHS)("zot API keys at %s", (path) => {
  it("creates a key with zot's fields, 201, and the secret once", async () => {
    const user = await createUser();
    const response = await call(path, {
      method: "POST",
      auth: user.auth,
      json: { label: "git", scopes: ["repo1", "team/*"] },
      headers: { "user-agent": "curl/8.5.0" },
    });
    const key = await json(response, 201);
    expect(Object.keys(key).sort()).toEqual(
      [
        "apiKey",
        "createdAt",
        "creatorUa",
        "deprecatedSecrets",
        "expirationDate",
        "generatedBy",
        "isExpired",
        "kind",
        "label",
        "lastUsed",
        "lastUsedIp",
        "parentId",
        "scopes",
        "uuid",
      ].sort(),
    );
    expect(key).toMatchObject({
      label: "git",
      scopes: ["repo1", "team/*"],
      creatorUa: "curl/8.5.0",
      generatedBy: "manual",
      isExpired: false,
      expirationDate: null,
      lastUsed: null,
    });
    expect(key.apiKey).toMatch(/^zak_[0-9A-Za-z]{38}$/);
    expect(key.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(key.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("accepts zot's documented curl, which sends JSON as a form", async () => {
    const user = await createUser();
    const response = await call(path, {
      method: "POST",
      auth: user.auth,
      body: '{"label": "myLabel", "scopes": ["repo1", "repo2"]}',
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect((await json(response, 201)).label).toBe("myLabel");
  });

  it("lists only the caller's keys, never a secret", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const a1 = await createKey(alice, { label: "one" }, path);
    const a2 = await createKey(alice, { label: "two", expirationDate: "2099-01-01T00:00:00Z" }, path);
    await createKey(bob, { label: "bob's" }, path);
    const listed = await json(await call(path, { auth: alice.auth }), 200);
    expect(listed.apiKeys.map((k: any) => k.uuid).sort()).toEqual([a1.uuid, a2.uuid].sort());
    const text = JSON.stringify(listed);
    expect(text).not.toContain(a1.apiKey);
    expect(text).not.toContain(a2.apiKey);
    expect(listed.apiKeys.every((k: any) => !("apiKey" in k))).toBe(true);
    expect(listed.apiKeys.find((k: any) => k.uuid === a2.uuid).expirationDate).toBe("2099-01-01T00:00:00.000Z");
  });

  it("revokes a key; the very next request with it gets 401", async () => {
    const user = await createUser();
    const { uuid, apiKey } = await createKey(user, { label: "ci" }, path);
    await json(await call("/api/v1/user/", { auth: basic(user.username, apiKey) }), 200);
    const response = await call(`${path}?id=${uuid}`, { method: "DELETE", auth: bearer(apiKey) });
    expect(response.status).toBe(200);
    await json(await call("/api/v1/user/", { auth: basic(user.username, apiKey) }), 401);
    await json(await call("/api/v1/user/", { auth: bearer(apiKey) }), 401);
    expect((await json(await call(path, { auth: user.auth }), 200)).apiKeys).toEqual([]);
  });

  it("will not let one user revoke another's key (404, key unharmed)", async () => {
    const alice = await createUser();
    const mallory = await createUser();
    const { uuid, apiKey } = await createKey(alice, { label: "mine" }, path);
    await json(await call(`${path}?id=${uuid}`, { method: "DELETE", auth: mallory.auth }), 404);
    await json(await call("/api/v1/user/", { auth: bearer(apiKey) }), 200);
  });
});

describe("API key semantics", () => {
  it("acts with its owner's rights, never more", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    await json(await call("/api/v1/superuser/users", { auth: bearer(apiKey) }), 403);
    const adminKey = await createKey({ username: "root", password: "", auth: adminAuth() });
    await json(await call("/api/v1/superuser/users", { auth: bearer(adminKey.apiKey) }), 200);
  });

  it("stops working the moment it expires", async () => {
    const user = await createUser();
    const { uuid, apiKey } = await createKey(user, { label: "short", expirationDate: "2099-01-01T00:00:00Z" });
    await json(await call("/api/v1/user/", { auth: bearer(apiKey) }), 200);
    // Move the expiry into the past, as time would.
    await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, uuid)
      .run();
    await json(await call("/api/v1/user/", { auth: bearer(apiKey) }), 401);
    const listed = await json(await call("/v2/_zot/ext/apikey", { auth: user.auth }), 200);
    expect(listed.apiKeys[0]).toMatchObject({ uuid, isExpired: true });
  });

  it("without expirationDate never expires", async () => {
    const user = await createUser();
    const { uuid } = await createKey(user, { label: "forever" });
    const row = await env.DB.prepare("SELECT expires_at FROM api_keys WHERE id = ?").bind(uuid).first();
    expect(row!.expires_at).toBeNull();
  });

  it("records lastUsed at most once a minute per key, after the response", async () => {
    const user = await createUser();
    const { uuid, apiKey } = await createKey(user);
    const use = async () => {
      const ctx = createExecutionContext();
      const response = await worker.fetch(
        new Request(`${ORIGIN}/api/v1/user/`, { headers: { authorization: bearer(apiKey) } }),
        env,
        ctx,
      );
      expect(response.status).toBe(200);
      await waitOnExecutionContext(ctx);
    };
    const lastUsed = async () =>
      (await env.DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(uuid).first())!.last_used_at;
    await use();
    const first = await lastUsed();
    expect(first).toBeTypeOf("number");
    await use();
    await use();
    expect(await lastUsed()).toBe(first);
    // A minute later the next use writes again.
    await env.DB.prepare("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
      .bind(Date.now() - 61_000, uuid)
      .run();
    await use();
    expect(await lastUsed()).toBeGreaterThan(Date.now() - 10_000);
    const listed = await json(await call("/v2/_zot/ext/apikey", { auth: user.auth }), 200);
    expect(listed.apiKeys[0].lastUsed).not.toBeNull();
  });

  it("stores only keyed hashes: no secret or password in any D1 table", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user, { label: "needle" });
    const tables = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    ).all<{ name: string }>();
    let dump = "";
    for (const { name } of tables.results) {
      dump += JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results);
    }
    expect(dump).toContain("needle");
    expect(dump).not.toContain(apiKey);
    expect(dump).not.toContain(apiKey.slice(4, 30));
    expect(dump).not.toContain(user.password);
    expect(dump).not.toContain(env.KEYWARD_ADMIN_PASSWORD!);
  });
});

describe("keys made with a key", () => {
  it("stay within the caller key's scopes and expiry (a key never begets a wider key)", async () => {
    const user = await createUser();
    const narrow = await createKey(user, {
      label: "narrow",
      scopes: ["repo1", "team/*"],
      expirationDate: "2099-01-01T00:00:00Z",
    });
    const auth = bearer(narrow.apiKey);
    const inherited = await json(await call("/v2/_zot/ext/apikey", { method: "POST", auth, json: { label: "child" } }), 201);
    expect(inherited.scopes).toEqual(["repo1", "team/*"]);
    expect(inherited.expirationDate).toBe("2099-01-01T00:00:00.000Z");
    const within = await json(
      await call("/v2/_zot/ext/apikey", { method: "POST", auth, json: { label: "c2", scopes: ["team/app"] } }),
      201,
    );
    expect(within.scopes).toEqual(["team/app"]);
    await json(await call("/v2/_zot/ext/apikey", { method: "POST", auth, json: { label: "wide", scopes: ["other"] } }), 403);
    await json(
      await call("/v2/_zot/ext/apikey", {
        method: "POST",
        auth,
        json: { label: "late", expirationDate: "2199-01-01T00:00:00Z" },
      }),
      403,
    );
    // With the password, the owner may make any key.
    expect((await createKey(user, { label: "wide-by-owner" })).scopes).toEqual([]);
  });
});
