import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN, adminAuth, basic, call, createUser, json, ORIGIN, uniqueIp } from "../helpers";
import { keyOf, registryToken } from "../oauth/support";
import { send } from "../perf/support";

/*
 * The adversarial pass on issue 12 (introspection, revocation, the leak report), each finding
 * as the attacker tried it. Every test here failed before its fix. (Its F5, an empty
 * Authorization header accepted by the leak report, is the runtime's doing: workerd drops an
 * empty header before the Worker sees it, so such a request carries no credential at all.)
 */

describe("F1: an upload just over 16 MiB", () => {
  it("is read to its end before the 413 (a cut-off body restarted the isolate under workerd)", async () => {
    const total = 17 * 1024 * 1024;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) return controller.close();
        const n = Math.min(256 * 1024, total - sent);
        controller.enqueue(new Uint8Array(n).fill(97));
        sent += n;
      },
    });
    const response = await exports.default.fetch(
      new Request(`${ORIGIN}/oauth/revoke`, {
        method: "POST",
        body,
        headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": uniqueIp() },
      }),
    );
    expect(response.status).toBe(413);
    expect((await response.json<any>()).error).toBe("invalid_request");
    expect(sent).toBe(total);
  });
});

describe("F2: failed attempts with a user's credentials reach that user's own audit log", () => {
  const ownLog = async (auth: string) => (await json(await call("/api/v1/user/logs?limit=50", { auth }), 200)).logs as any[];

  it("a wrong password for alice", async () => {
    const alice = await createUser();
    await json(await call("/api/v1/user/", { auth: basic(alice.username, "wrong-password") }), 401);
    const entry = (await ownLog(alice.auth)).find((l) => l.kind === "auth.failed");
    expect(entry).toMatchObject({ target: { type: "user", id: alice.username }, metadata: { reason: "wrong_password" } });
  });

  it("alice's key presented under another name: her log names the key", async () => {
    const alice = await createUser();
    const key = await keyOf(alice);
    await json(await call("/api/v1/user/", { auth: basic("someone-else", key.apiKey) }), 401);
    const entry = (await ownLog(alice.auth)).find((l) => l.kind === "auth.failed");
    expect(entry).toMatchObject({ target: { type: "api_key", id: key.uuid }, metadata: { reason: "wrong_user" } });
    expect(JSON.stringify(entry)).not.toContain(key.apiKey);
  });

  it("a registry token tried at another registry's service: the owner's log names the token", async () => {
    const robot = await registryToken();
    await json(await call("/v2/auth?service=elsewhere.example", { auth: basic(robot.name, robot.password) }), 401);
    const entry = (await ownLog(adminAuth())).find((l) => l.kind === "auth.failed" && l.target.id === robot.tokenId);
    expect(entry).toMatchObject({ target: { type: "registry_token" }, metadata: { reason: "wrong_service" } });
  });
});

describe("F3: an access token's owner is not its sub", () => {
  it("a user named like a registry token learns nothing of that token's access tokens", async () => {
    const robot = await registryToken();
    // An ordinary user who shares the robot's name.
    const password = "same-name-password-1";
    await json(
      await call("/api/v1/superuser/users/", { method: "POST", auth: adminAuth(), json: { username: robot.name, password } }),
      200,
    );
    const jwt = (
      await json(
        await call(`/v2/auth?service=${robot.service}&scope=repository:ci/app:pull`, { auth: basic(robot.name, robot.password) }),
        200,
      )
    ).token as string;
    const asNamesake = await call("/oauth/introspect", {
      method: "POST",
      auth: basic(robot.name, password),
      body: new URLSearchParams({ token: jwt }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(await json(asNamesake, 200)).toEqual({ active: false });
    const asAdmin = await call("/oauth/introspect", {
      method: "POST",
      auth: adminAuth(),
      body: new URLSearchParams({ token: jwt }).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    // username: whose rights it carries (the superuser who made the token); sub: the robot.
    expect(await json(asAdmin, 200)).toMatchObject({ active: true, username: ADMIN.username, sub: robot.name });
  });
});

describe("F4: the published revoke URL", () => {
  it("comes from KEYWARD_PUBLIC_URL, not from a Host header", async () => {
    const { response } = await send(
      "/.well-known/keyward/secret-patterns.json",
      { headers: { host: "attacker.example" } },
      { KEYWARD_PUBLIC_URL: "https://keyward.example.com" },
    );
    const body = await response.json<any>();
    expect(body.revokeUrl).toBe("https://keyward.example.com/credentials/revoke");
    expect(JSON.stringify(body)).not.toContain("attacker.example");
  });
});
