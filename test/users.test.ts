import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminAuth, basic, bearer, call, createKey, createUser, json, uniqueName } from "./helpers";

const USERS = "/api/v1/superuser/users";

describe("superuser user management (Quay API v1)", () => {
  it("creates a user with a generated password shown once, which then works", async () => {
    const username = uniqueName();
    const created = await json(
      await call(`${USERS}/`, { method: "POST", auth: adminAuth(), json: { username, email: `${username}@example.com` } }),
      200,
    );
    expect(created).toMatchObject({ username, email: `${username}@example.com`, super_user: false, enabled: true });
    expect(created.password).toMatch(/^[0-9A-Za-z]{24}$/);
    await json(await call("/api/v1/user/", { auth: basic(username, created.password) }), 200);
    const fetched = await json(await call(`${USERS}/${username}`, { auth: adminAuth() }), 200);
    expect(fetched).not.toHaveProperty("password");
    const listed = await json(await call(USERS, { auth: adminAuth() }), 200);
    expect(listed.users.map((u: any) => u.username)).toContain(username);
    expect(JSON.stringify(listed)).not.toContain("scrypt");
  });

  it("answers 409 for a duplicate username and keeps the first user", async () => {
    const user = await createUser();
    const response = await call(USERS, {
      method: "POST",
      auth: adminAuth(),
      json: { username: user.username, password: "another-password" },
    });
    expect((await json(response, 409)).error.code).toBe("conflict");
    await json(await call("/api/v1/user/", { auth: user.auth }), 200);
  });

  it("changes a password: the old one stops working, the new one works", async () => {
    const user = await createUser();
    await json(
      await call(`${USERS}/${user.username}`, { method: "PUT", auth: adminAuth(), json: { password: "brand-new-password" } }),
      200,
    );
    await json(await call("/api/v1/user/", { auth: user.auth }), 401);
    await json(await call("/api/v1/user/", { auth: basic(user.username, "brand-new-password") }), 200);
  });

  it("promotes a user to superuser", async () => {
    const user = await createUser();
    await json(await call(USERS, { auth: user.auth }), 403);
    const updated = await json(
      await call(`${USERS}/${user.username}`, { method: "PUT", auth: adminAuth(), json: { superuser: true } }),
      200,
    );
    expect(updated.super_user).toBe(true);
    await json(await call(USERS, { auth: user.auth }), 200);
  });

  it("deletes a user with every credential it owns", async () => {
    const user = await createUser();
    const { uuid, apiKey } = await createKey(user);
    const response = await call(`${USERS}/${user.username}`, { method: "DELETE", auth: adminAuth() });
    expect(response.status).toBe(204);
    await json(await call("/api/v1/user/", { auth: bearer(apiKey) }), 401);
    const row = await env.DB.prepare("SELECT id FROM api_keys WHERE id = ?").bind(uuid).first();
    expect(row).toBeNull();
    await json(await call(`${USERS}/${user.username}`, { auth: adminAuth() }), 404);
  });

  it("will not let a superuser delete, disable or demote itself", async () => {
    await json(await call(`${USERS}/${env.KEYWARD_ADMIN_USER}`, { method: "DELETE", auth: adminAuth() }), 400);
    await json(
      await call(`${USERS}/${env.KEYWARD_ADMIN_USER}`, { method: "PUT", auth: adminAuth(), json: { enabled: false } }),
      400,
    );
    await json(await call("/api/v1/user/", { auth: adminAuth() }), 200);
  });

  it("is closed to normal users and to anonymous callers", async () => {
    const user = await createUser();
    await json(await call(USERS, { method: "POST", auth: user.auth, json: { username: uniqueName() } }), 403);
    await json(await call(USERS, { method: "POST", json: { username: uniqueName() } }), 401);
    await json(await call(`${USERS}/${user.username}`, { method: "DELETE", auth: user.auth }), 403);
  });

  it("bootstraps the configured superuser on first start", async () => {
    const me = await json(await call("/api/v1/user/", { auth: adminAuth() }), 200);
    expect(me).toMatchObject({ username: env.KEYWARD_ADMIN_USER, super_user: true, anonymous: false });
  });
});
