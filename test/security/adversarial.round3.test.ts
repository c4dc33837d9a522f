import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { kallitheaConflict } from "../../src/routes/kallithea/methods";
import { UserConflict } from "../../src/services/users";
import { ADMIN, adminAuth, basic, bearer, call, createUser, json, uniqueIp, uniqueName } from "../helpers";
import { ok, refused, rpc, rpcRaw, userWithKey } from "../kallithea/support";

/*
 * Round 3 of the adversarial pass (issue 9: Kallithea JSON-RPC, built-in and extra keys), each
 * finding as the attacker tried it. A helper with only the README and a running server found
 * these.
 */

const rootAuth = () => basic(ADMIN.username, ADMIN.password);

describe("F1: a short-lived key of a superuser cannot make what outlives it", () => {
  it("an expiring key gets no admin methods and no superuser routes", async () => {
    const root = await userWithKey({ superuser: true });
    const short = await ok(root.key, "create_api_key", { description: "short", lifetime: "5" });
    expect(
      await refused(short.api_key, "create_user", { username: uniqueName("persist"), email: "p@example.com", admin: "true" }),
    ).toBe("method `create_user` requires admin rights (this key is narrowed by scopes or an expiry)");
    expect(await refused(short.api_key, "update_user", { userid: root.username, password: "hijacked-password-1" })).toMatch(
      /requires admin rights/,
    );
    await json(
      await call(`/api/v1/superuser/users/${root.username}`, {
        method: "PUT",
        auth: bearer(short.api_key),
        json: { password: "hijacked-password-1" },
      }),
      403,
    );
    await json(await call("/api/v1/superuser/users", { auth: bearer(short.api_key) }), 403);
    // The password still is the old one.
    await json(await call("/api/v1/user/", { auth: basic(root.username, root.password) }), 200);
  });

  it("an expiring key manages no registry (a never-expiring token would outlive it)", async () => {
    const root = await userWithKey({ superuser: true });
    const registry = await json(
      await call("/registries", {
        method: "POST",
        auth: root.auth,
        json: { properties: { name: uniqueName("reg").replace(/[^a-z0-9-]/g, "") } },
      }),
      201,
    );
    const short = await ok(root.key, "create_api_key", { description: "short", lifetime: "5" });
    const response = await call(`/registries/${registry.id}/tokens`, {
      method: "POST",
      auth: bearer(short.api_key),
      json: {
        properties: { name: "persist-robot", scopes: [{ type: "repository", name: "*", actions: ["pull", "push", "delete"] }] },
      },
    });
    expect([403, 404]).toContain(response.status);
  });

  it("a key never sets its own user's password, not even a superuser's unscoped, never-expiring key", async () => {
    const root = await userWithKey({ superuser: true });
    expect(await refused(root.key, "update_user", { userid: root.username, password: "hijacked-password-1" })).toMatch(
      /cannot change its own user's password/,
    );
    await json(
      await call(`/api/v1/superuser/users/${root.username}`, {
        method: "PUT",
        auth: bearer(root.key),
        json: { password: "hijacked-password-1" },
      }),
      403,
    );
    // Other users' passwords remain an admin's to set.
    const other = await createUser();
    await ok(root.key, "update_user", { userid: other.username, password: "reset-by-admin-1" });
    await json(await call("/api/v1/user/", { auth: basic(other.username, "reset-by-admin-1") }), 200);
  });
});

describe("F2: no secret lands in a list, an audit entry or an error", () => {
  it("free-text fields refuse a keyward secret (description, label, names, notes, metadata)", async () => {
    const user = await userWithKey();
    const secret = user.key;
    expect(await refused(user.key, "create_api_key", { description: secret, lifetime: "5" })).toMatch(
      /^Invalid value for `description`/,
    );
    expect(await refused(user.key, "create_api_key", { description: `x${secret}`, lifetime: "5" })).toMatch(/^Invalid value/);
    await json(await call("/v2/_zot/ext/apikey", { method: "POST", auth: user.auth, json: { label: `token ${secret}` } }), 400);
    await json(
      await call("/api/v1/user/apikeys", { method: "POST", auth: user.auth, json: { description: secret, lifetime: 5 } }),
      400,
    );
    const created = await json(
      await call("/api/v1/superuser/keys", {
        method: "POST",
        auth: rootAuth(),
        json: { service: uniqueName("svc"), expiration: null, metadata: { note: `see ${secret}` } },
      }),
      400,
    );
    expect(JSON.stringify(created)).not.toContain(secret);
  });

  it("a User-Agent holding a secret is kept redacted", async () => {
    const user = await userWithKey();
    const key = await json(
      await call("/api/v1/user/apikeys", {
        method: "POST",
        auth: user.auth,
        json: { description: "ua", lifetime: 5 },
        headers: { "user-agent": `curl/8 ${user.key}` },
      }),
      201,
    );
    expect(key.creatorUa).toBe("curl/8 zak_<redacted>");
  });

  it("RPC errors never echo a secret (method name, arg name, userid, malformed bodies)", async () => {
    const user = await userWithKey();
    const secret = user.key;
    for (const error of [
      await refused(user.key, secret, {}),
      await refused(user.key, "get_user", { [secret]: 1 }),
      (await rpc(user.key, "get_user", { userid: secret })).error!,
      (await rpcRaw(`{"api_key":"x${secret}", `)).error!,
    ]) {
      expect(error).not.toContain(secret.slice(4));
    }
    const utf16 = new Uint8Array([...`{"api_key":"${secret}"`].flatMap((ch) => [ch.charCodeAt(0), 0]));
    const response = await call("/_admin/api", {
      method: "POST",
      body: utf16,
      headers: { "content-type": "text/plain", "cf-connecting-ip": uniqueIp() },
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    // However the NUL bytes come back (raw, \u0000 or \x00), the key must not be readable.
    const flattened = text.split("\\u0000").join("").split("\\x00").join("").split(String.fromCharCode(0)).join("");
    expect(flattened).not.toContain(secret.slice(4, 20));
  });
});

describe("F3: the audit entry of update_user names only the fields given", () => {
  it("records lastname, not password/email/…", async () => {
    const root = await userWithKey({ superuser: true });
    const user = await createUser();
    await ok(root.key, "update_user", { userid: user.username, lastname: "X" });
    const row = await env.DB.prepare(
      "SELECT metadata FROM audit_log WHERE kind = 'user.update' AND target_id = ? ORDER BY id DESC LIMIT 1",
    )
      .bind(user.username)
      .first<{ metadata: string }>();
    expect(JSON.parse(row!.metadata).changed).toEqual(["lastname"]);
  });
});

describe("F4: a username shaped like a user id is refused; an id finds its user", () => {
  it("create_user with another user's id as the username is refused, and get_user by id finds the original", async () => {
    const root = await userWithKey({ superuser: true });
    const bob = await userWithKey();
    const { user_id } = await ok(bob.key, "get_user");
    expect(await refused(root.key, "create_user", { username: user_id, email: `${uniqueName("u")}@example.com` })).toMatch(
      /cannot have the shape of a user id/,
    );
    await json(
      await call("/api/v1/superuser/users", {
        method: "POST",
        auth: adminAuth(),
        json: { username: user_id, email: "x@example.com" },
      }),
      400,
    );
    expect((await ok(root.key, "get_user", { userid: user_id })).username).toBe(bob.username);
  });
});

describe("F5: a non-admin cannot tell which usernames exist", () => {
  it("get_user, get_ip and get_api_keys answer the same for an existing and a missing user", async () => {
    const alice = await userWithKey();
    const bob = await createUser();
    for (const method of ["get_user", "get_ip", "get_api_keys"]) {
      const existing = await refused(alice.key, method, { userid: bob.username });
      const missing = await refused(alice.key, method, { userid: "no-such-user-here" });
      expect(existing).toBe("userid is not the same as your user");
      expect(missing).toBe(existing);
    }
  });
});

describe("F6: small inconsistencies", () => {
  it("a username conflict from the database (a lost race) reads Kallithea's `user ... already exist`", () => {
    // The branch a lost race takes: the insert's unique violation, mapped to Kallithea's words.
    expect(() => kallitheaConflict(new UserConflict("username", "racer"))).toThrow("user `racer` already exist");
    expect(() => kallitheaConflict(new UserConflict("email", "r@example.com"))).toThrow("email `r@example.com` already exist");
  });

  it("concurrent create_user of one name: one user, the others Kallithea's `user ... already exist`", async () => {
    const root = await userWithKey({ superuser: true });
    const username = uniqueName("racer");
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) => rpc(root.key, "create_user", { username, email: `${username}-${i}@example.com` })),
    );
    const errors = replies.flatMap((r) => (r.error ? [r.error] : []));
    expect(replies.filter((r) => r.error === null)).toHaveLength(1);
    for (const error of errors) expect(error).toBe(`user \`${username}\` already exist`);
  });

  it("a non-integer JSON number is no password (1e400 was stored as its decimal text)", async () => {
    const root = await userWithKey({ superuser: true });
    const user = await createUser();
    const envelope = await rpcRaw(
      `{"id": 1, "api_key": "${root.key}", "method": "update_user", "args": {"userid": "${user.username}", "password": 1e400}}`,
    );
    expect(envelope.error).toBe("Invalid value for `password`: must be a string");
  });
});
