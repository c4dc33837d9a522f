import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { generateSecret } from "../../src/crypto/secrets";
import { createDb } from "../../src/db/client";
import { SYSTEM_ACTOR } from "../../src/services/audit";
import { revokePresented } from "../../src/services/introspection";
import { adminAuth, basic, bearer, call, createUser, json, type TestUser } from "../helpers";
import { Browser } from "../sessions/support";
import { accessToken, auditCount, formPost, keyOf, refreshToken, registryToken, revoke, SERVICE } from "./support";

let alice: TestUser;

beforeAll(async () => {
  alice = await createUser();
});

const grant = (token: string, service = SERVICE) =>
  formPost("/v2/auth", { grant_type: "refresh_token", service, refresh_token: token });

describe("POST /oauth/revoke: possession suffices", () => {
  it("ends an API key (no caller credential needed), its refresh tokens and the keys made with it", async () => {
    const key = await keyOf(alice);
    const refresh = await refreshToken(alice.username, key.apiKey);
    const child = await json(
      await call("/v2/_zot/ext/apikey", { method: "POST", auth: key.auth, json: { label: "child" } }),
      201,
    );
    const response = await revoke(key.apiKey);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey) }), 401);
    await json(await call("/api/v1/user/", { auth: bearer(child.apiKey) }), 401);
    await json(await grant(refresh), 401);
    expect(await auditCount("credential.revoke", key.uuid)).toBe(1);
  });

  it("ends a registry token and its refresh tokens", async () => {
    const robot = await registryToken();
    const login = () => call(`/v2/auth?service=${robot.service}`, { auth: basic(robot.name, robot.password) });
    await json(await login(), 200);
    expect((await revoke(robot.password)).status).toBe(200);
    await json(await login(), 401);
    await json(await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, { auth: adminAuth() }), 404);
  });

  it("ends a refresh token alone; its parent key keeps working", async () => {
    const key = await keyOf(alice);
    const refresh = await refreshToken(alice.username, key.apiKey);
    await json(await grant(refresh), 200);
    expect((await revoke(refresh)).status).toBe(200);
    await json(await grant(refresh), 401);
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey) }), 200);
  });

  it("ends a session cookie's session", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    expect((await browser.fetch("/api/v1/user/")).status).toBe(200);
    expect((await revoke(browser.session!)).status).toBe(200);
    expect((await browser.fetch("/api/v1/user/")).status).toBe(401);
  });

  it.each([
    ["an unknown well-formed secret", () => generateSecret("zak")],
    ["a malformed one", () => "zak_whatever"],
    ["an unrelated string", () => "not a token"],
  ])("answers 200 for %s", async (_, token) => {
    const response = await revoke(token());
    expect(response.status).toBe(200);
  });

  it("refuses an access token: 400 unsupported_token_type", async () => {
    const jwt = await accessToken(alice, `repository:${alice.username}/app:pull`);
    expect(await json(await revoke(jwt), 400)).toEqual({
      error: "unsupported_token_type",
      error_description: expect.any(String),
    });
  });

  it("takes an optional caller credential, but not a bad one (401 invalid_client)", async () => {
    const key = await keyOf(alice);
    expect((await json(await revoke(key.apiKey, basic(alice.username, "wrong")), 401)).error).toBe("invalid_client");
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey) }), 200);
    expect((await revoke(key.apiKey, alice.auth)).status).toBe(200);
    const entry = await env.DB.prepare(
      "SELECT actor_name, metadata FROM audit_log WHERE kind = 'credential.revoke' AND target_id = ?",
    )
      .bind(key.uuid)
      .first<{ actor_name: string; metadata: string }>();
    expect(entry!.actor_name).toBe(alice.username);
    expect(JSON.parse(entry!.metadata)).toMatchObject({ owner: alice.username, endpoint: "oauth/revoke" });
    expect(entry!.metadata).not.toContain(key.apiKey);
  });

  it.each([
    ["no token", {}],
    ["a repeated token", { token: ["a", "b"] }],
  ])("answers %s with 400 invalid_request", async (_, fields) => {
    const body = await json(await formPost("/oauth/revoke", fields as Record<string, string>), 400);
    expect(body.error).toBe("invalid_request");
  });

  it("writes one audit entry when the same key is revoked concurrently", async () => {
    const key = await keyOf(alice);
    const db = createDb(env.DB);
    const config = await loadConfig(env);
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => revokePresented(db, config, SYSTEM_ACTOR, key.apiKey)));
    expect(outcomes.filter((o) => o === "revoked").length).toBe(1);
    expect(await auditCount("credential.revoke", key.uuid)).toBe(1);
  });
});
