import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bearer, call, createKey, createUser, json, uniqueName } from "../helpers";
import { auditCount } from "../security/support";
import { ok, refused, rpc, rpcRaw, userWithKey } from "./support";

/*
 * Kallithea's methods with Kallithea's shapes (args as kallithea-api sends them: strings),
 * each with its happy path and its permission refusal.
 */

const root = await userWithKey({ superuser: true });
const USER_FIELDS = ["active", "admin", "email", "emails", "firstname", "lastname", "user_id", "username"];

afterEach(() => {
  vi.useRealTimers();
});

describe("get_user", () => {
  it("returns the caller, with permissions, and never keys, last login or IPs", async () => {
    const user = await userWithKey();
    const result = await ok(user.key, "get_user");
    expect(Object.keys(result).sort()).toEqual([...USER_FIELDS, "permissions"].sort());
    expect(result).toMatchObject({
      username: user.username,
      email: `${user.username}@example.com`,
      emails: [`${user.username}@example.com`],
      active: true,
      admin: false,
      firstname: "",
      lastname: "",
    });
    expect(result.permissions).toEqual({
      global: [],
      repositories: { [`${user.username}/*`]: "repository.admin" },
      repositories_groups: {},
      user_groups: {},
    });
  });

  it("shows grants as Kallithea's repository permissions, and hg.admin for a superuser", async () => {
    const user = await userWithKey();
    await json(
      await call(`/api/v1/superuser/users/${user.username}/permissions`, {
        method: "PUT",
        auth: root.auth,
        json: { repository: "team/*", role: "write" },
      }),
      200,
    );
    const result = await ok(root.key, "get_user", { userid: user.username });
    expect(result.permissions.repositories["team/*"]).toBe("repository.write");
    expect((await ok(root.key, "get_user")).permissions.global).toEqual(["hg.admin"]);
  });

  it("finds a user by id or username; a non-admin only themselves", async () => {
    const user = await userWithKey();
    const other = await userWithKey();
    const me = await ok(user.key, "get_user", { userid: user.username });
    expect((await ok(user.key, "get_user", { userid: me.user_id })).username).toBe(user.username);
    expect(await refused(user.key, "get_user", { userid: other.username })).toBe("userid is not the same as your user");
    expect((await ok(root.key, "get_user", { userid: me.user_id })).username).toBe(user.username);
    expect(await refused(root.key, "get_user", { userid: "nobody-here" })).toBe("user `nobody-here` does not exist");
  });
});

describe("get_users", () => {
  it("lists every user sorted by username, for an admin", async () => {
    const result = await ok(root.key, "get_users");
    const names = result.map((u: any) => u.username);
    expect(names).toEqual([...names].sort());
    expect(names).toContain(root.username);
    for (const u of result) expect(Object.keys(u).sort()).toEqual(USER_FIELDS);
  });

  it("says clearly that it needs admin rights (Kallithea answers 'Internal server error')", async () => {
    const user = await userWithKey();
    expect(await refused(user.key, "get_users")).toBe("method `get_users` requires admin rights");
  });

  it("refuses a superuser's key narrowed by scopes", async () => {
    const { apiKey } = await createKey(root, { label: "narrow", scopes: ["team/*"] });
    expect(await refused(apiKey, "get_users")).toBe(
      "method `get_users` requires admin rights (this key is narrowed by scopes or an expiry)",
    );
  });
});

describe("create_user", () => {
  it("creates a user from kallithea-api's string args", async () => {
    const username = uniqueName("kal");
    const result = await ok(root.key, "create_user", {
      username,
      email: `${username}@example.com`,
      password: "a-long-password",
      firstname: "Ada",
      lastname: "Lovelace",
      active: "true",
      admin: "false",
      extern_type: "internal",
    });
    expect(result.msg).toBe(`created new user \`${username}\``);
    expect(result.user).toMatchObject({ username, firstname: "Ada", lastname: "Lovelace", active: true, admin: false });
    expect(result.password).toBeUndefined();
    // The new user signs in with that password.
    await json(await call("/api/v1/user/", { auth: `Basic ${btoa(`${username}:a-long-password`)}` }), 200);
    expect(await auditCount("user.create", username)).toBe(1);
  });

  it("generates a password when none is given, shown once", async () => {
    const username = uniqueName("kal");
    const result = await ok(root.key, "create_user", { username, email: `${username}@example.com`, active: "false" });
    expect(result.password).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(result.user.active).toBe(false);
  });

  it("refuses a taken username or email, case-insensitively, in Kallithea's words", async () => {
    const user = await createUser();
    expect(await refused(root.key, "create_user", { username: user.username.toUpperCase(), email: "x@example.com" })).toBe(
      `user \`${user.username}\` already exist`,
    );
    const email = `${user.username}@EXAMPLE.com`;
    expect(await refused(root.key, "create_user", { username: uniqueName("kal"), email })).toBe(
      `email \`${email}\` already exist`,
    );
  });

  it("refuses bad values with the argument's name", async () => {
    expect(await refused(root.key, "create_user", { username: "x", email: "x@example.com" })).toMatch(
      /^Invalid value for `username`: must be 2-63/,
    );
    expect(await refused(root.key, "create_user", { username: uniqueName("k"), email: "nope" })).toBe(
      "Invalid value for `email`: must be an email address",
    );
    expect(await refused(root.key, "create_user", { username: uniqueName("k"), email: "a@b.co", extern_type: "ldap" })).toBe(
      "Invalid value for `extern_type`: keyward has only internal users: must be internal",
    );
    expect(await refused(root.key, "create_user", { username: uniqueName("k"), email: "a@b.co", active: "maybe" })).toBe(
      "Invalid value for `active`: must be a boolean (true or false)",
    );
  });

  it("is refused to a non-admin", async () => {
    const user = await userWithKey();
    expect(await refused(user.key, "create_user", { username: uniqueName("k"), email: "a@b.co" })).toBe(
      "method `create_user` requires admin rights",
    );
  });
});

describe("update_user", () => {
  it("updates and answers with Kallithea's message", async () => {
    const user = await userWithKey();
    const { user_id } = await ok(user.key, "get_user");
    const result = await ok(root.key, "update_user", { userid: user.username, firstname: "Grace", active: "true" });
    expect(result).toMatchObject({ msg: `updated user ID:${user_id} ${user.username}`, user: { firstname: "Grace" } });
  });

  it("refuses another user's email and writes nothing", async () => {
    const user = await userWithKey();
    const other = await createUser();
    const before = await auditCount("user.update", user.username);
    expect(await refused(root.key, "update_user", { userid: user.username, email: `${other.username}@Example.com` })).toBe(
      `email \`${other.username}@Example.com\` already exist`,
    );
    expect(await auditCount("user.update", user.username)).toBe(before);
  });

  it("disabling a user ends their keys' use at once", async () => {
    const user = await userWithKey();
    await ok(root.key, "update_user", { userid: user.username, active: "false" });
    expect(await refused(user.key, "get_user")).toBe("Invalid API key");
  });

  it("refuses a rename (a user owns the namespace named like them) and a non-admin", async () => {
    const user = await userWithKey();
    expect(await refused(root.key, "update_user", { userid: user.username, username: uniqueName("new") })).toMatch(
      /^usernames cannot be changed/,
    );
    expect(await refused(user.key, "update_user", { userid: user.username, firstname: "x" })).toBe(
      "method `update_user` requires admin rights",
    );
  });
});

describe("delete_user", () => {
  it("deletes and answers with Kallithea's message; the user's keys die with it", async () => {
    const user = await userWithKey();
    const { user_id } = await ok(user.key, "get_user");
    expect(await ok(root.key, "delete_user", { userid: user_id })).toEqual({
      msg: `deleted user ID:${user_id} ${user.username}`,
      user: null,
    });
    expect(await refused(root.key, "get_user", { userid: user.username })).toBe(`user \`${user.username}\` does not exist`);
    expect(await refused(user.key, "get_user")).toBe("Invalid API key");
  });

  it("refuses deleting yourself, and a non-admin", async () => {
    expect(await refused(root.key, "delete_user", { userid: root.username })).toBe("You cannot delete yourself");
    const user = await userWithKey();
    expect(await refused(user.key, "delete_user", { userid: user.username })).toBe("method `delete_user` requires admin rights");
  });
});

describe("get_ip", () => {
  it("answers the caller's address and no IP allow-list", async () => {
    const user = await userWithKey();
    const envelope = await rpcRaw(JSON.stringify({ id: 1, api_key: user.key, method: "get_ip", args: {} }), {
      "cf-connecting-ip": "198.51.100.7",
    });
    expect(envelope.result).toEqual({ server_ip_addr: "198.51.100.7", user_ips: [] });
    const other = await createUser();
    expect(await refused(user.key, "get_ip", { userid: other.username })).toBe("userid is not the same as your user");
  });
});

describe("key methods", () => {
  it("create_api_key: an extra key with a lifetime in minutes, its secret once, working everywhere a key works", async () => {
    const user = await userWithKey();
    const before = Date.now();
    const result = await ok(user.key, "create_api_key", { description: "nightly mirror", lifetime: "60" });
    expect(result).toMatchObject({ kind: "extra", description: "nightly mirror", expired: false });
    expect(result.api_key).toMatch(/^zak_/);
    expect(result.expires * 1000).toBeGreaterThanOrEqual(Math.floor((before + 60 * 60_000) / 1000) * 1000);
    expect(result.expires * 1000).toBeLessThanOrEqual(Date.now() + 60 * 60_000);
    // An RPC key, a Bearer key, a Basic key.
    expect((await ok(result.api_key, "get_user")).username).toBe(user.username);
    await json(await call("/api/v1/user/", { auth: bearer(result.api_key) }), 200);
    await json(await call("/api/v1/user/", { auth: `Basic ${btoa(`${user.username}:${result.api_key}`)}` }), 200);
    // Never the secret again.
    const listed = await ok(user.key, "get_api_keys");
    expect(JSON.stringify(listed)).not.toContain(result.api_key);
    expect(listed.find((k: any) => k.key_id === result.key_id)).toMatchObject({ kind: "extra", description: "nightly mirror" });
  });

  it("a 5-minute key is refused once the clock passes its expiry, and stays listed as expired", async () => {
    const user = await userWithKey();
    const short = await ok(user.key, "create_api_key", { description: "short", lifetime: "5" });
    const forever = await ok(user.key, "create_api_key", { description: "forever", lifetime: "-1" });
    expect(forever).toMatchObject({ expires: -1, expires_at: null });
    expect((await ok(short.api_key, "get_user")).username).toBe(user.username);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 5 * 60_000 + 1000);
    expect(await refused(short.api_key, "get_user")).toBe("Invalid API key");
    const keys = await ok(forever.api_key, "get_api_keys");
    expect(keys.find((k: any) => k.key_id === short.key_id)).toMatchObject({ expired: true });
    expect(keys.find((k: any) => k.key_id === forever.key_id)).toMatchObject({ expired: false });
  });

  it("create_api_key refuses lifetimes other than -1 or positive minutes", async () => {
    const user = await userWithKey();
    for (const lifetime of ["0", "-5", "1.5", 1e12]) {
      expect(await refused(user.key, "create_api_key", { description: "x", lifetime })).toMatch(/^Invalid value for `lifetime`/);
    }
  });

  it("a key made with a scoped key keeps its scopes and dies with it", async () => {
    const user = await userWithKey();
    const scoped = await createKey(user, { label: "scoped", scopes: [`${user.username}/app`] });
    const child = await ok(scoped.apiKey, "create_api_key", { description: "child", lifetime: "-1" });
    expect(child.scopes).toEqual([`${user.username}/app`]);
    await ok(user.key, "revoke_api_key", { key_id: scoped.uuid });
    expect(await refused(child.api_key, "get_user")).toBe("Invalid API key");
  });

  it("revoke_api_key: own keys; an admin anyone's; others' keys do not exist for a non-admin", async () => {
    const user = await userWithKey();
    const other = await userWithKey();
    const extra = await ok(user.key, "create_api_key", { description: "x", lifetime: "-1" });
    expect(await refused(other.key, "revoke_api_key", { key_id: extra.key_id })).toBe(
      `API key \`${extra.key_id}\` does not exist`,
    );
    expect(await ok(user.key, "revoke_api_key", { key_id: extra.key_id })).toEqual({
      msg: `revoked API key ID:${extra.key_id}`,
      key_id: extra.key_id,
    });
    expect(await refused(extra.api_key, "get_user")).toBe("Invalid API key");
    await ok(root.key, "revoke_api_key", { key_id: other.keyId });
    expect(await refused(other.key, "get_user")).toBe("Invalid API key");
    expect(await refused(user.key, "revoke_api_key", { key_id: "not-a-uuid" })).toBe(
      "Invalid value for `key_id`: must be an API key id (a UUID)",
    );
  });

  it("get_api_keys: an admin may list anyone's; a non-admin only their own", async () => {
    const user = await userWithKey();
    const other = await createUser();
    expect((await ok(root.key, "get_api_keys", { userid: user.username })).map((k: any) => k.key_id)).toContain(user.keyId);
    expect(await refused(user.key, "get_api_keys", { userid: other.username })).toBe("userid is not the same as your user");
  });

  it("reset_builtin_api_key replaces the built-in key: the old secret is refused on the next request", async () => {
    const user = await userWithKey();
    const first = await ok(user.key, "reset_builtin_api_key");
    expect(first).toMatchObject({ kind: "builtin", description: "Built-in", expires: -1, expired: false });
    expect((await ok(first.api_key, "get_user")).username).toBe(user.username);
    // The built-in key resets itself (a script rotating its own key).
    const second = await ok(first.api_key, "reset_builtin_api_key");
    expect(second.key_id).not.toBe(first.key_id);
    expect(await refused(first.api_key, "get_user")).toBe("Invalid API key");
    expect((await ok(second.api_key, "get_user")).username).toBe(user.username);
    const builtins = (await ok(user.key, "get_api_keys")).filter((k: any) => k.kind === "builtin");
    expect(builtins.map((k: any) => k.key_id)).toEqual([second.key_id]);
    expect(await auditCount("api_key.reset_builtin", second.key_id)).toBe(1);
  });

  it("reset_builtin_api_key is refused to a scoped or expiring key", async () => {
    const user = await userWithKey();
    const scoped = await createKey(user, { label: "s", scopes: ["x/*"] });
    expect(await refused(scoped.apiKey, "reset_builtin_api_key")).toMatch(/cannot reset the built-in key/);
    const expiring = await ok(user.key, "create_api_key", { description: "e", lifetime: "60" });
    expect(await refused(expiring.api_key, "reset_builtin_api_key")).toMatch(/cannot reset the built-in key/);
  });

  it("concurrent resets leave one built-in key; a reset that lost the race says so", async () => {
    const user = await userWithKey();
    await ok(user.key, "reset_builtin_api_key");
    const envelopes = await Promise.all(Array.from({ length: 4 }, () => rpc(user.key, "reset_builtin_api_key", {})));
    const winners = envelopes.filter((e) => e.error === null);
    expect(winners.length).toBeGreaterThanOrEqual(1);
    const rows = await env.DB.prepare(
      "SELECT id FROM api_keys WHERE user_id = (SELECT id FROM users WHERE username = ?) AND kind = 'builtin'",
    )
      .bind(user.username)
      .all();
    expect(rows.results).toHaveLength(1);
    const live = winners.filter((w) => w.result.key_id === rows.results[0]!.id);
    expect(live).toHaveLength(1);
    for (const loser of envelopes.filter((e) => e.error !== null)) expect(loser.error).toMatch(/reset by another request/);
  });
});
