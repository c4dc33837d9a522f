import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminAuth, basic, call, createKey, createUser, json } from "./helpers";

describe("audit log", () => {
  it("records key and user changes, newest first, with who and from where", async () => {
    const user = await createUser();
    const key = await createKey(user, { label: "audited" });
    await call(`/v2/_zot/ext/apikey?id=${key.uuid}`, { method: "DELETE", auth: user.auth });
    const page = await json(await call("/api/v1/superuser/logs?limit=5", { auth: adminAuth() }), 200);
    const kinds = page.logs.map((l: any) => l.kind);
    expect(kinds.slice(0, 3)).toEqual(["api_key.revoke", "api_key.create", "user.create"]);
    const revoke = page.logs[0];
    expect(revoke).toMatchObject({
      performer: { kind: "user", name: user.username },
      target: { type: "api_key", id: key.uuid },
      ip: "192.0.2.1",
    });
    const ids = page.logs.map((l: any) => l.id);
    expect([...ids].sort((a: number, b: number) => b - a)).toEqual(ids);
  });

  it("pages with next_page until the end", async () => {
    const user = await createUser();
    for (let i = 0; i < 4; i++) await createKey(user, { label: `k${i}` });
    const seen: number[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const page = await json(
        await call(`/api/v1/superuser/logs?limit=3${next ? `&next_page=${next}` : ""}`, { auth: adminAuth() }),
        200,
      );
      seen.push(...page.logs.map((l: any) => l.id));
      next = page.next_page;
      pages += 1;
    } while (next && pages < 100);
    const total = (await env.DB.prepare("SELECT count(*) AS n FROM audit_log").first<{ n: number }>())!.n;
    expect(seen).toHaveLength(total);
    expect(new Set(seen).size).toBe(total);
  });

  it("never holds a secret or a password", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    await call("/api/v1/user/", { auth: `Bearer ${apiKey.slice(0, -1)}Z` });
    const rows = JSON.stringify((await env.DB.prepare("SELECT * FROM audit_log").all()).results);
    expect(rows).not.toContain(apiKey);
    expect(rows).not.toContain(user.password);
  });

  it("is for superusers only", async () => {
    const user = await createUser();
    await json(await call("/api/v1/superuser/logs", { auth: user.auth }), 403);
  });
});

describe("failed sign-ins with a secret in the wrong place", () => {
  it("never record a key or a password sent as the username", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    await json(await call("/api/v1/user/", { auth: basic(apiKey, "x") }), 401);
    await json(await call("/api/v1/user/", { auth: basic(user.password, "x") }), 401);
    await json(await call("/api/v1/user/", { auth: basic("y".repeat(60_000), "x") }), 401);
    const dump = JSON.stringify([
      (await env.DB.prepare("SELECT * FROM audit_log").all()).results,
      (await env.DB.prepare("SELECT * FROM auth_failures").all()).results,
    ]);
    expect(dump).not.toContain(apiKey);
    expect(dump).not.toContain(apiKey.toLowerCase());
    expect(dump).not.toContain(user.password);
    expect(dump).not.toContain("y".repeat(100));
  });
});

describe("GET /api/v1/user/logs", () => {
  it("shows a user the entries about their own account and credentials, and nobody else's", async () => {
    const mine = await createUser();
    const other = await createUser();
    const key = await createKey(mine, { label: "audited" });
    await createKey(other, { label: "not-mine" });
    const body = await json(await call("/api/v1/user/logs", { auth: mine.auth }), 200);
    expect(body.logs.some((l: any) => l.kind === "api_key.create" && l.target.id === key.uuid)).toBe(true);
    expect(body.logs.every((l: any) => l.metadata.label !== "not-mine")).toBe(true);
    expect(JSON.stringify(body)).not.toContain(key.apiKey);
  });

  it("is refused to anonymous callers (401) and to narrowed keys (403)", async () => {
    const user = await createUser();
    await json(await call("/api/v1/user/logs"), 401);
    const scoped = await createKey(user, { label: "scoped", scopes: [`${user.username}/x`] });
    await json(await call("/api/v1/user/logs", { auth: basic(user.username, scoped.apiKey) }), 403);
    await json(await call("/api/v1/user/logs?limit=0", { auth: user.auth }), 400);
  });
});
