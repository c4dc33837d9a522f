import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { countingD1 } from "./db-spy";
import { createUser, json, uniqueIp } from "./helpers";
import { postToken } from "./security/support";

/** A request through the Worker with its deferred bookkeeping run to the end. */
async function settled(path: string, init: RequestInit, workerEnv: typeof env = env) {
  const headers = new Headers(init.headers);
  headers.set("cf-connecting-ip", uniqueIp());
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://keyward.test${path}`, { ...init, headers }), workerEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const lastLogin = async (username: string) =>
  (await env.DB.prepare("SELECT last_login_at AS t FROM users WHERE username = ?").bind(username).first<{ t: number | null }>())!
    .t;

describe("lastLogin is coalesced like lastUsed", () => {
  it("is written on the first sign-in, not again within the minute, and again after it", async () => {
    const user = await createUser();
    expect(await lastLogin(user.username)).toBeNull();
    await settled("/api/v1/user/", { headers: { authorization: user.auth } });
    const first = await lastLogin(user.username);
    expect(first).not.toBeNull();
    await settled("/api/v1/user/", { headers: { authorization: user.auth } });
    expect(await lastLogin(user.username)).toBe(first);
    await env.DB.prepare("UPDATE users SET last_login_at = ? WHERE username = ?")
      .bind(first! - 61_000, user.username)
      .run();
    await settled("/api/v1/user/", { headers: { authorization: user.auth } });
    expect(await lastLogin(user.username)).toBeGreaterThan(first! - 61_000);
  });
});

describe("the refresh-token grant's hot path", () => {
  it("resolves the refresh token, its parent, grants and public repositories in one D1 round trip", async () => {
    const user = await createUser();
    const { refresh_token } = await json(
      await postToken({
        grant_type: "password",
        username: user.username,
        password: user.password,
        service: "registry.local",
        access_type: "offline",
      }),
      200,
    );
    const form = {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token,
        service: "registry.local",
        scope: `repository:${user.username}/a:pull`,
      }).toString(),
    };
    // Warm: the signing key is cached per isolate, lastUsed has just been written.
    expect((await settled("/v2/auth", form)).status).toBe(200);
    const spy = countingD1();
    expect((await settled("/v2/auth", form, { ...env, DB: spy.db })).status).toBe(200);
    expect(spy.roundTrips()).toBe(1);
  });
});

describe("a client signing in with the right password in parallel", () => {
  it("is not throttled by its own burst of up to LIMITS.pair requests (each attempt is counted before the KDF)", async () => {
    const { LIMITS } = await import("../src/services/authFailures");
    const { call } = await import("./helpers");
    const user = await createUser();
    const ip = uniqueIp();
    const responses = await Promise.all(
      Array.from({ length: LIMITS.pair }, () => call("/api/v1/user/", { auth: user.auth, headers: { "cf-connecting-ip": ip } })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(LIMITS.pair).fill(200));
  });
});
