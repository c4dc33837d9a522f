import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../src/index";
import { adminAuth, basic, call, createUser, json, type TestUser, uniqueIp, uniqueName } from "./helpers";

const inTwoHours = () => new Date(Date.now() + 2 * 3_600_000).toISOString();

async function createRegistry(hostname?: string) {
  const name = uniqueName("reg").replace(/[^a-z0-9-]/g, "");
  const response = await call("/registries", {
    method: "POST",
    auth: adminAuth(),
    json: { properties: { name, ...(hostname ? { hostname } : {}), location: "de/fra" } },
  });
  expect(response.headers.get("location")).toMatch(/\/registries\/[0-9a-f-]{36}$/);
  return json(response, 201);
}

async function createToken(registryId: string, properties: Record<string, unknown>) {
  const response = await call(`/registries/${registryId}/tokens`, { method: "POST", auth: adminAuth(), json: { properties } });
  return { response, body: await json(response, 201) };
}

const tokenName = () => `t${Math.random().toString(36).slice(2, 10)}`;

describe("registries (IONOS)", () => {
  it("creates, reads, patches and deletes a registry in IONOS's envelope", async () => {
    const registry = await createRegistry();
    expect(registry).toMatchObject({
      type: "registry",
      href: `/registries/${registry.id}`,
      metadata: { createdBy: "root", state: "Running" },
    });
    expect(registry.properties.hostname).toBe(`${registry.properties.name}.registry.local`);
    const fetched = await json(await call(`/registries/${registry.id}`, { auth: adminAuth() }), 200);
    expect(fetched.properties).toEqual(registry.properties);
    const patched = await json(
      await call(`/registries/${registry.id}`, {
        method: "PATCH",
        auth: adminAuth(),
        json: { properties: { hostname: "cr.example.com" } },
      }),
      200,
    );
    expect(patched.properties.hostname).toBe("cr.example.com");
    expect(patched.metadata.lastModifiedBy).toBe("root");
    const listed = await json(await call("/registries", { auth: adminAuth() }), 200);
    expect(listed.items.map((r: any) => r.id)).toContain(registry.id);
    expect((await call(`/registries/${registry.id}`, { method: "DELETE", auth: adminAuth() })).status).toBe(204);
    await json(await call(`/registries/${registry.id}`, { auth: adminAuth() }), 404);
  });

  it("deletes a registry's tokens with it", async () => {
    const registry = await createRegistry();
    const { body } = await createToken(registry.id, { name: tokenName() });
    await call(`/registries/${registry.id}`, { method: "DELETE", auth: adminAuth() });
    expect(await env.DB.prepare("SELECT id FROM registry_tokens WHERE id = ?").bind(body.id).first()).toBeNull();
  });

  it("lets only superusers create registries, and hides others' registries", async () => {
    const user = await createUser();
    const response = await call("/registries", { method: "POST", auth: user.auth, json: { properties: { name: "mine" } } });
    const body = await json(response, 403);
    expect(body).toEqual({ httpStatus: 403, messages: [{ errorCode: "FORBIDDEN", message: expect.any(String) }] });
    const registry = await createRegistry();
    await json(await call(`/registries/${registry.id}`, { auth: user.auth }), 404);
    await json(await call(`/registries/${registry.id}/tokens`, { auth: user.auth }), 404);
  });

  it("answers 409 for a taken name or hostname", async () => {
    const registry = await createRegistry("taken.example.com");
    const dup = await call("/registries", {
      method: "POST",
      auth: adminAuth(),
      json: { properties: { name: registry.properties.name } },
    });
    expect((await json(dup, 409)).httpStatus).toBe(409);
    const host = await call("/registries", {
      method: "POST",
      auth: adminAuth(),
      json: { properties: { name: "other-one", hostname: "taken.example.com" } },
    });
    await json(host, 409);
  });
});

describe("registry tokens (IONOS)", () => {
  let registry: any;
  beforeAll(async () => {
    registry = await createRegistry();
  });

  it("creates a token: 201, Location, IONOS's object, the password once", async () => {
    const name = tokenName();
    const expiryDate = inTwoHours();
    const scopes = [{ type: "repository", name: "app/*", actions: ["pull", "push"] }];
    const { response, body } = await createToken(registry.id, { name, expiryDate, scopes, status: "enabled" });
    expect(response.headers.get("location")).toBe(`https://keyward.test/registries/${registry.id}/tokens/${body.id}`);
    expect(body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: "token",
      href: `/registries/${registry.id}/tokens/${body.id}`,
      metadata: { createdBy: "root", createdByUserId: expect.any(String), createdDate: expect.any(String), lastUsed: null },
      properties: { name, expiryDate: new Date(expiryDate).toISOString(), scopes, status: "enabled" },
    });
    expect(body.properties.credentials.username).toBe(name);
    expect(body.properties.credentials.password).toMatch(/^krt_[0-9A-Za-z]{38}$/);
    const fetched = await json(await call(`/registries/${registry.id}/tokens/${body.id}`, { auth: adminAuth() }), 200);
    expect(fetched.properties.credentials).toEqual({ username: name, password: "" });
    const dump = JSON.stringify((await env.DB.prepare("SELECT * FROM registry_tokens").all()).results);
    expect(dump).not.toContain(body.properties.credentials.password);
  });

  it("defaults to no expiry, no scopes, enabled; duplicate names are 409", async () => {
    const name = tokenName();
    const { body } = await createToken(registry.id, { name });
    expect(body.properties).toMatchObject({ expiryDate: null, scopes: [], status: "enabled" });
    const dup = await call(`/registries/${registry.id}/tokens`, {
      method: "POST",
      auth: adminAuth(),
      json: { properties: { name } },
    });
    expect((await json(dup, 409)).messages[0].errorCode).toBe("CONFLICT");
  });

  it("PUT creates (201) at a chosen id, then replaces (200) with a new password; the name cannot change", async () => {
    const id = crypto.randomUUID();
    const name = tokenName();
    const created = await json(
      await call(`/registries/${registry.id}/tokens/${id}`, { method: "PUT", auth: adminAuth(), json: { properties: { name } } }),
      201,
    );
    expect(created.id).toBe(id);
    const replaced = await json(
      await call(`/registries/${registry.id}/tokens/${id}`, {
        method: "PUT",
        auth: adminAuth(),
        json: { properties: { name, status: "disabled", scopes: [{ type: "repository", name: "x", actions: ["pull"] }] } },
      }),
      200,
    );
    expect(replaced.properties.status).toBe("disabled");
    expect(replaced.properties.credentials.password).toMatch(/^krt_/);
    expect(replaced.properties.credentials.password).not.toBe(created.properties.credentials.password);
    expect(replaced.metadata.lastModifiedBy).toBe("root");
    const renamed = await call(`/registries/${registry.id}/tokens/${id}`, {
      method: "PUT",
      auth: adminAuth(),
      json: { properties: { name: "other-name" } },
    });
    await json(renamed, 400);
  });

  it("PATCH changes each field on its own", async () => {
    const { body } = await createToken(registry.id, { name: tokenName() });
    const path = `/registries/${registry.id}/tokens/${body.id}`;
    const patch = async (fields: Record<string, unknown>) =>
      json(await call(path, { method: "PATCH", auth: adminAuth(), json: fields }), 200);
    expect((await patch({ status: "disabled" })).properties.status).toBe("disabled");
    const expiry = inTwoHours();
    expect((await patch({ expiryDate: expiry })).properties.expiryDate).toBe(new Date(expiry).toISOString());
    expect((await patch({ expiryDate: null })).properties.expiryDate).toBeNull();
    const scopes = [{ type: "registry", name: "*", actions: ["pull"] }];
    const last = await patch({ scopes });
    expect(last.properties.scopes).toEqual(scopes);
    expect(last.properties.status).toBe("disabled");
    expect(last.properties.credentials.password).toBe("");
  });

  it("DELETE answers 204, then 404", async () => {
    const { body } = await createToken(registry.id, { name: tokenName() });
    const path = `/registries/${registry.id}/tokens/${body.id}`;
    expect((await call(path, { method: "DELETE", auth: adminAuth() })).status).toBe(204);
    await json(await call(path, { auth: adminAuth() }), 404);
    await json(await call(path, { method: "DELETE", auth: adminAuth() }), 404);
  });
});

describe("token pagination", () => {
  let registry: any;
  const names = Array.from({ length: 7 }, (_, i) => `page-${i}`);
  beforeAll(async () => {
    registry = await createRegistry();
    for (const name of names) await createToken(registry.id, { name });
  });
  const page = async (query: string) => json(await call(`/registries/${registry.id}/tokens${query}`, { auth: adminAuth() }), 200);

  it("defaults to offset 0, limit 100, with total and _links", async () => {
    const all = await page("");
    expect(all).toMatchObject({
      type: "collection",
      offset: 0,
      limit: 100,
      count: 7,
      total: 7,
      href: `/registries/${registry.id}/tokens`,
    });
    expect(all.items.map((t: any) => t.properties.name)).toEqual(names);
    expect(all._links).toEqual({ self: `/registries/${registry.id}/tokens?offset=0&limit=100` });
    expect(JSON.stringify(all)).not.toContain("krt_");
  });

  it("walks pages with next and previous", async () => {
    const first = await page("?offset=0&limit=3");
    expect(first.items.map((t: any) => t.properties.name)).toEqual(names.slice(0, 3));
    expect(first._links.next).toBe(`/registries/${registry.id}/tokens?offset=3&limit=3`);
    expect(first._links.previous).toBeUndefined();
    const second = await page("?offset=3&limit=3");
    expect(second._links.previous).toBe(`/registries/${registry.id}/tokens?offset=0&limit=3`);
    const last = await page("?offset=6&limit=3");
    expect(last.count).toBe(1);
    expect(last._links.next).toBeUndefined();
  });

  it("answers an offset past the end with an empty page, and limit 0 with no items", async () => {
    expect(await page("?offset=50&limit=10")).toMatchObject({ count: 0, total: 7, items: [] });
    expect(await page("?limit=0")).toMatchObject({ count: 0, total: 7, items: [], limit: 0 });
  });

  it("pages by name with the keyset extension `after`", async () => {
    const first = await page("?after=page-2&limit=2");
    expect(first.items.map((t: any) => t.properties.name)).toEqual(["page-3", "page-4"]);
    expect(first._links.next).toBe(`/registries/${registry.id}/tokens?after=page-4&limit=2`);
  });

  it.each(["?limit=1001", "?limit=-1", "?offset=abc", "?sort=name"])("refuses %s with 400", async (query) => {
    const body = await json(await call(`/registries/${registry.id}/tokens${query}`, { auth: adminAuth() }), 400);
    expect(body.httpStatus).toBe(400);
  });
});

describe("registry token bad input", () => {
  let registry: any;
  beforeAll(async () => {
    registry = await createRegistry();
  });
  it.each<[string, unknown]>([
    ["a name with capitals", { properties: { name: "Bad" } }],
    ["a one-letter name", { properties: { name: "a" } }],
    ["a name ending in a dash", { properties: { name: "abc-" } }],
    ["an expiry under an hour ahead", { properties: { name: "soon", expiryDate: new Date(Date.now() + 600_000).toISOString() } }],
    ["an expiry that is no date", { properties: { name: "date", expiryDate: "tomorrow" } }],
    ["an unknown action", { properties: { name: "act", scopes: [{ type: "repository", name: "a", actions: ["fly"] }] } }],
    ["an unknown scope type", { properties: { name: "typ", scopes: [{ type: "image", name: "a", actions: ["pull"] }] } }],
    ["a scope without actions", { properties: { name: "noact", scopes: [{ type: "repository", name: "a", actions: [] }] } }],
    ["an unknown status", { properties: { name: "stat", status: "paused" } }],
    ["an unknown field", { properties: { name: "unk", color: "red" } }],
    ["credentials in the body", { properties: { name: "cred", credentials: { password: "x" } } }],
    ["no properties wrapper", { name: "flat" }],
  ])("answers %s with 400 in IONOS's error body, creating nothing", async (_name, body) => {
    const before = (await json(await call(`/registries/${registry.id}/tokens`, { auth: adminAuth() }), 200)).total;
    const response = await call(`/registries/${registry.id}/tokens`, { method: "POST", auth: adminAuth(), json: body });
    const error = await json(response, 400);
    expect(error.httpStatus).toBe(400);
    expect(error.messages[0]).toEqual({ errorCode: expect.any(String), message: expect.any(String) });
    expect((await json(await call(`/registries/${registry.id}/tokens`, { auth: adminAuth() }), 200)).total).toBe(before);
  });

  it.each([
    ["a registryId that is no UUID", "/registries/not-a-uuid/tokens"],
    ["a tokenId that is no UUID", "/registries/6f1c3a52-3b1e-4d2a-9c1e-2b7f0c1d2e3f/tokens/nope"],
  ])("answers %s with 400", async (_name, path) => {
    expect((await json(await call(path, { auth: adminAuth() }), 400)).httpStatus).toBe(400);
  });

  it("answers malformed JSON and an oversize body in IONOS's format", async () => {
    const malformed = await call(`/registries/${registry.id}/tokens`, {
      method: "POST",
      auth: adminAuth(),
      body: "{",
      headers: { "content-type": "application/json" },
    });
    expect((await json(malformed, 400)).httpStatus).toBe(400);
    const big = await call(`/registries/${registry.id}/tokens`, {
      method: "POST",
      auth: adminAuth(),
      json: { properties: { name: "big", x: "y".repeat(9000) } },
    });
    expect((await json(big, 413)).httpStatus).toBe(413);
  });

  it("asks for credentials with 401 in IONOS's format", async () => {
    expect((await json(await call(`/registries/${registry.id}/tokens`), 401)).messages[0].errorCode).toBe("UNAUTHORIZED");
  });
});

describe("using a registry token at /v2/auth", () => {
  let registry: any;
  let creator: TestUser;
  beforeAll(async () => {
    registry = await createRegistry();
    creator = await createUser({ superuser: true });
  });
  const tokenUrl = (service: string, scope: string) => `/v2/auth?service=${service}&scope=${encodeURIComponent(scope)}`;

  async function tokenFor(scopes: unknown[], status = "enabled") {
    const response = await call(`/registries/${registry.id}/tokens`, {
      method: "POST",
      auth: creator.auth,
      json: { properties: { name: tokenName(), scopes, status } },
    });
    const body = await json(response, 201);
    return { id: body.id, auth: basic(body.properties.credentials.username, body.properties.credentials.password) };
  }

  it("gets what its scopes allow, for its registry's service only", async () => {
    const robot = await tokenFor([{ type: "repository", name: "ci/*", actions: ["pull", "push"] }]);
    const body = await json(
      await call(tokenUrl(registry.properties.hostname, "repository:ci/app:pull,push,delete"), { auth: robot.auth }),
      200,
    );
    const claims = decodeJwt(body.token);
    expect(claims.access).toEqual([{ type: "repository", name: "ci/app", actions: ["pull", "push"] }]);
    expect(claims.aud).toBe(registry.properties.hostname);
    expect(claims.sub).toMatch(/^t/);
    const outside = await json(
      await call(tokenUrl(registry.properties.hostname, "repository:other/app:pull"), { auth: robot.auth }),
      200,
    );
    expect((decodeJwt(outside.token).access as any[])[0].actions).toEqual([]);
    const wrongService = await call(tokenUrl("another.registry", "repository:ci/app:pull"), {
      auth: robot.auth,
      headers: { "cf-connecting-ip": uniqueIp() },
    });
    expect((await json(wrongService, 401)).errors[0].code).toBe("UNAUTHORIZED");
  });

  it("never gets more than its creator may do", async () => {
    const plain = await createUser();
    // Make the plain user a registry owner by having a superuser create the registry, then
    // let the plain user's rights bound the token: grant read on shared/*.
    await json(
      await call(`/api/v1/superuser/users/${plain.username}/permissions`, {
        method: "PUT",
        auth: adminAuth(),
        json: { repository: "shared/*", role: "read" },
      }),
      200,
    );
    await env.DB.prepare("UPDATE registries SET owner_id = (SELECT id FROM users WHERE username = ?) WHERE id = ?")
      .bind(plain.username, registry.id)
      .run();
    const response = await call(`/registries/${registry.id}/tokens`, {
      method: "POST",
      auth: plain.auth,
      json: {
        properties: { name: tokenName(), scopes: [{ type: "repository", name: "*", actions: ["pull", "push", "delete"] }] },
      },
    });
    const body = await json(response, 201);
    const auth = basic(body.properties.credentials.username, body.properties.credentials.password);
    const issued = await json(
      await call(tokenUrl(registry.properties.hostname, "repository:shared/lib:pull,push"), { auth }),
      200,
    );
    expect((decodeJwt(issued.token).access as any[])[0].actions).toEqual(["pull"]);
    await env.DB.prepare("UPDATE registries SET owner_id = (SELECT id FROM users WHERE username = 'root') WHERE id = ?")
      .bind(registry.id)
      .run();
  });

  it("is refused on the very next request once disabled or expired", async () => {
    const robot = await tokenFor([{ type: "repository", name: "*", actions: ["pull"] }]);
    const url = tokenUrl(registry.properties.hostname, "repository:a/b:pull");
    await json(await call(url, { auth: robot.auth }), 200);
    await json(
      await call(`/registries/${registry.id}/tokens/${robot.id}`, {
        method: "PATCH",
        auth: creator.auth,
        json: { status: "disabled" },
      }),
      200,
    );
    await json(await call(url, { auth: robot.auth, headers: { "cf-connecting-ip": uniqueIp() } }), 401);
    await json(
      await call(`/registries/${registry.id}/tokens/${robot.id}`, {
        method: "PATCH",
        auth: creator.auth,
        json: { status: "enabled" },
      }),
      200,
    );
    await json(await call(url, { auth: robot.auth }), 200);
    await env.DB.prepare("UPDATE registry_tokens SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, robot.id)
      .run();
    await json(await call(url, { auth: robot.auth, headers: { "cf-connecting-ip": uniqueIp() } }), 401);
  });

  it("is refused with another name or a mistyped password", async () => {
    const robot = await tokenFor([]);
    const [, encoded] = robot.auth.split(" ");
    const [, password] = atob(encoded!).split(":");
    await json(
      await call(tokenUrl(registry.properties.hostname, "repository:a/b:pull"), {
        auth: basic("someone-else", password!),
        headers: { "cf-connecting-ip": uniqueIp() },
      }),
      401,
    );
    await json(
      await call(tokenUrl(registry.properties.hostname, "repository:a/b:pull"), {
        auth: basic("x", `${password!.slice(0, -1)}0`),
      }),
      401,
    );
  });

  it("works in the OAuth2 POST form too, and records lastUsed", async () => {
    const robot = await tokenFor([{ type: "repository", name: "*", actions: ["pull"] }]);
    const [user, password] = atob(robot.auth.split(" ")[1]!).split(":");
    const response = await call("/v2/auth", {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "password",
        username: user!,
        password: password!,
        service: registry.properties.hostname,
        scope: "repository:a/b:pull",
      }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect((decodeJwt((await json(response, 200)).token).access as any[])[0].actions).toEqual(["pull"]);
    for (
      let i = 0;
      i < 20 &&
      !(await env.DB.prepare("SELECT last_used_at FROM registry_tokens WHERE id = ?")
        .bind(robot.id)
        .first<{ last_used_at: number | null }>())!.last_used_at;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const fetched = await json(await call(`/registries/${registry.id}/tokens/${robot.id}`, { auth: creator.auth }), 200);
    expect(fetched.metadata.lastUsed).not.toBeNull();
  });
});

describe("sweepExpiredRegistryTokens", () => {
  it("deletes expired tokens with an audit entry each, and keeps the rest", async () => {
    const registry = await createRegistry();
    const { body: live } = await createToken(registry.id, { name: tokenName() });
    const { body: dead } = await createToken(registry.id, { name: tokenName(), expiryDate: inTwoHours() });
    await env.DB.prepare("UPDATE registry_tokens SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, dead.id)
      .run();
    await worker.scheduled(createScheduledController({ cron: "*/10 * * * *", scheduledTime: Date.now() }), env);
    const ids = (
      await env.DB.prepare("SELECT id FROM registry_tokens WHERE registry_id = ?").bind(registry.id).all<{ id: string }>()
    ).results.map((r) => r.id);
    expect(ids).toEqual([live.id]);
    const audit = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE kind = 'registry_token.sweep' AND target_id = ?",
    )
      .bind(dead.id)
      .first<{ n: number }>();
    expect(audit!.n).toBe(1);
  });
});
