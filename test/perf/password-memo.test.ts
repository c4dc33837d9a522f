import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { memoKey, memoSize, PASSWORD_MEMO_MS, PASSWORD_MEMO_SIZE, recall, remember } from "../../src/credentials/passwordMemo";
import { adminAuth, basic, call, createUser, json, uniqueIp } from "../helpers";
import { send } from "./support";

/*
 * Issue 11 item 2: a password verified recently is not put through scrypt again — but the
 * user row is read on every request, so a changed password or a disabled user is refused on
 * the very next one, and failures are never remembered.
 */

const me = (auth: string, ip = uniqueIp()) => send("/api/v1/user/", { headers: { authorization: auth, "cf-connecting-ip": ip } });

describe("the password memo", () => {
  it("remembers a verified password: the next request counts no attempt", async () => {
    const user = await createUser();
    const first = await me(user.auth);
    expect(first.response.status).toBe(200);
    // The miss counted the attempt before the KDF (and forgave it after): writes.
    expect(first.writes).toBeGreaterThan(0);
    const second = await me(user.auth);
    expect(second.response.status).toBe(200);
    expect(second.writes).toBe(0);
  });

  it("refuses the old password on the very next request after a password change", async () => {
    const user = await createUser();
    expect((await me(user.auth)).response.status).toBe(200);
    expect((await me(user.auth)).response.status).toBe(200);
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, {
        method: "PUT",
        auth: adminAuth(),
        json: { password: "a-new-password-1" },
      }),
      200,
    );
    expect((await me(user.auth)).response.status).toBe(401);
    expect((await me(basic(user.username, "a-new-password-1"))).response.status).toBe(200);
  });

  it("refuses a disabled user on the very next request, and a deleted one", async () => {
    const user = await createUser();
    expect((await me(user.auth)).response.status).toBe(200);
    await json(
      await call(`/api/v1/superuser/users/${user.username}`, { method: "PUT", auth: adminAuth(), json: { enabled: false } }),
      200,
    );
    expect((await me(user.auth)).response.status).toBe(401);
    const other = await createUser();
    expect((await me(other.auth)).response.status).toBe(200);
    await env.DB.prepare("DELETE FROM users WHERE username = ?").bind(other.username).run();
    expect((await me(other.auth)).response.status).toBe(401);
  });

  it("never remembers a failure", async () => {
    const user = await createUser();
    const before = memoSize();
    expect((await me(basic(user.username, "wrong-password"))).response.status).toBe(401);
    expect(memoSize()).toBe(before);
    const config = await loadConfig(env);
    expect(recall(await memoKey(user.username, "wrong-password", config.peppers.current))).toBeNull();
  });

  it("still refuses a pair that is locked out, even with the remembered password", async () => {
    const user = await createUser();
    const ip = uniqueIp();
    expect((await me(user.auth, ip)).response.status).toBe(200);
    for (let i = 0; i < 10; i++) await me(basic(user.username, `guess-${i}`), ip);
    const locked = await me(user.auth, ip);
    expect(locked.response.status).toBe(429);
    expect(locked.writes).toBe(0);
    // Elsewhere the user still gets in.
    expect((await me(user.auth)).response.status).toBe(200);
  });

  it("keys entries by a keyed hash, is bounded in size and forgets after at most five minutes", async () => {
    const config = await loadConfig(env);
    const key = await memoKey("someone", "the-password", config.peppers.current);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain("the-password");
    expect(PASSWORD_MEMO_MS).toBeLessThanOrEqual(5 * 60_000);
    const now = Date.now();
    remember(key, "fingerprint", now);
    expect(recall(key, now + PASSWORD_MEMO_MS - 1)).toBe("fingerprint");
    expect(recall(key, now + PASSWORD_MEMO_MS)).toBeNull();
    for (let i = 0; i <= PASSWORD_MEMO_SIZE; i++) remember(`k${i}`, "f", now);
    expect(memoSize()).toBe(PASSWORD_MEMO_SIZE);
    expect(recall("k0", now)).toBeNull();
  });
});
