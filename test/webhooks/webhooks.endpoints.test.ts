import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { adminAuth, basic, call, createUser, json, ORIGIN } from "../helpers";

const PATH = "/api/v1/superuser/webhooks";
const endpointCount = async () => (await env.DB.prepare("SELECT count(*) AS n FROM webhook_endpoints").first<{ n: number }>())!.n;

const create = (body: unknown, auth = adminAuth()) => call(PATH, { method: "POST", auth, json: body });

describe("webhook endpoints (superuser API)", () => {
  it("creates an endpoint with a secret shown once, lists and gets it without the secret, deletes it", async () => {
    const created = await json(
      await create({
        url: "https://hooks.example.com/keyward",
        events: ["credential.revoked", "credential.leaked"],
        description: "SIEM",
      }),
      201,
    );
    expect(created).toMatchObject({
      id: expect.any(String),
      url: "https://hooks.example.com/keyward",
      events: ["credential.revoked", "credential.leaked"],
      description: "SIEM",
      createdBy: "root",
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9_-]{43}$/),
    });
    // Stored sealed, never in clear.
    const row = await env.DB.prepare("SELECT secret_enc FROM webhook_endpoints WHERE id = ?")
      .bind(created.id)
      .first<{ secret_enc: string }>();
    expect(row!.secret_enc).toMatch(/^v1\./);
    expect(row!.secret_enc).not.toContain(created.secret.slice(6));

    const listed = await json(await call(PATH, { auth: adminAuth() }), 200);
    const mine = listed.webhooks.find((w: any) => w.id === created.id);
    expect(mine).toEqual({ ...created, secret: undefined });
    expect(JSON.stringify(listed)).not.toContain(created.secret);
    const got = await json(await call(`${PATH}/${created.id}`, { auth: adminAuth() }), 200);
    expect(got).not.toHaveProperty("secret");

    expect(await json(await call(`${PATH}/${created.id}/deliveries`, { auth: adminAuth() }), 200)).toEqual({ deliveries: [] });

    const audit = await env.DB.prepare("SELECT kind FROM audit_log WHERE target_id = ? ORDER BY id")
      .bind(created.id)
      .all<{ kind: string }>();
    expect(audit.results.map((r) => r.kind)).toEqual(["webhook.create"]);

    expect((await call(`${PATH}/${created.id}`, { method: "DELETE", auth: adminAuth() })).status).toBe(204);
    await json(await call(`${PATH}/${created.id}`, { auth: adminAuth() }), 404);
    await json(await call(`${PATH}/${created.id}`, { method: "DELETE", auth: adminAuth() }), 404);
    await json(await call(`${PATH}/${created.id}/deliveries`, { auth: adminAuth() }), 404);
    const after = await env.DB.prepare("SELECT kind FROM audit_log WHERE target_id = ? ORDER BY id")
      .bind(created.id)
      .all<{ kind: string }>();
    // The second DELETE lost: no second entry.
    expect(after.results.map((r) => r.kind)).toEqual(["webhook.create", "webhook.delete"]);
  });

  it("allows plain http to loopback outside production", async () => {
    for (const url of ["http://127.0.0.1:8787/hook", "http://[::1]:9/x", "http://localhost/x"]) {
      await json(await create({ url, events: ["credential.expired"] }), 201);
    }
  });

  const valid = { url: "https://hooks.example.com/k", events: ["credential.revoked"] };
  describe.each([
    ["http to a non-loopback host", { ...valid, url: "http://hooks.example.com/k" }],
    ["a relative URL", { ...valid, url: "/hook" }],
    ["another scheme", { ...valid, url: "ftp://hooks.example.com/k" }],
    ["credentials in the URL", { ...valid, url: "https://user:pw@hooks.example.com/k" }],
    ["no events", { ...valid, events: [] }],
    ["an unknown event", { ...valid, events: ["credential.exploded"] }],
    ["a repeated event", { ...valid, events: ["credential.revoked", "credential.revoked"] }],
    ["an unknown field", { ...valid, secret: "mine" }],
    ["a description over 200 characters", { ...valid, description: "x".repeat(201) }],
    ["a missing url", { events: ["credential.revoked"] }],
  ])("refuses %s", (_name, body) => {
    it("with a 400 and writes nothing", async () => {
      const before = await endpointCount();
      const res = await json(await create(body), 400);
      expect(res.error).toMatchObject({ code: "validation_failed", requestId: expect.any(String) });
      expect(await endpointCount()).toBe(before);
    });
  });

  it("refuses malformed JSON", async () => {
    const res = await call(PATH, {
      method: "POST",
      auth: adminAuth(),
      body: "{nope",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    expect((await res.json<any>()).error.code).toEqual(expect.any(String));
  });

  it("refuses a bad id with a 400", async () => {
    await json(await call(`${PATH}/not-a-uuid`, { auth: adminAuth() }), 400);
    await json(await call(`${PATH}/${crypto.randomUUID()}`, { auth: adminAuth() }), 404);
  });

  it("requires https in production", async () => {
    const before = await endpointCount();
    const res = await worker.fetch(
      new Request(ORIGIN + PATH, {
        method: "POST",
        headers: { authorization: adminAuth(), "content-type": "application/json", "cf-connecting-ip": "192.0.2.1" },
        body: JSON.stringify({ url: "http://127.0.0.1:8787/hook", events: ["credential.revoked"] }),
      }),
      { ...env, KEYWARD_ENV: "production" },
      { waitUntil() {}, passThroughOnException() {} } as unknown as ExecutionContext,
    );
    const body = await json(res, 400);
    expect(body.error.message).toContain("https");
    expect(await endpointCount()).toBe(before);
  });

  it("is for superusers only", async () => {
    const user = await createUser();
    await json(await create(valid, basic(user.username, user.password)), 403);
    await json(await call(PATH, { auth: user.auth }), 403);
    await json(await call(PATH, { method: "POST", json: valid }), 401);
    await json(await call(PATH), 401);
  });
});
