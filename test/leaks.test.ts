import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { revokeLeaked } from "../src/credentials/leaks";
import { generateSecret } from "../src/crypto/secrets";
import { SYSTEM_ACTOR } from "../src/services/audit";
import { countingD1 } from "./db-spy";
import { adminAuth, basic, bearer, call, createUser, json, type TestUser, uniqueIp } from "./helpers";
import { auditCount, keyOf, refreshToken, registryToken } from "./oauth/support";

let alice: TestUser;

beforeAll(async () => {
  alice = await createUser();
});

/** A report from its own address (the limiter counts per address). */
function report(body: unknown, headers: Record<string, string> = {}) {
  return call("/credentials/revoke", {
    method: "POST",
    json: body,
    headers: { "cf-connecting-ip": uniqueIp(), ...headers },
  });
}

describe("POST /credentials/revoke", () => {
  it("revokes every reported secret that exists, of every kind, and answers 202 all the same", async () => {
    const key = await keyOf(alice);
    const robot = await registryToken();
    const refresh = await refreshToken(alice.username, (await keyOf(alice)).apiKey);
    const unknown = generateSecret("zak");
    const response = await report({ credentials: [key.apiKey, robot.password, refresh, unknown, "zak_junk", "hello"] });
    expect(await json(response, 202)).toEqual({ message: expect.any(String) });
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey) }), 401);
    await json(await call(`/v2/auth?service=${robot.service}`, { auth: basic(robot.name, robot.password) }), 401);
    const grant = new URLSearchParams({ grant_type: "refresh_token", service: "registry.local", refresh_token: refresh });
    await json(
      await call("/v2/auth", {
        method: "POST",
        body: grant.toString(),
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      401,
    );
  });

  it("answers exactly the same for valid, unknown and malformed secrets", async () => {
    const key = await keyOf(alice);
    const bodies = [];
    for (const credentials of [[key.apiKey], [generateSecret("zak")], ["zak_nope"]]) {
      const response = await report({ credentials });
      bodies.push([response.status, await response.text()]);
    }
    expect(bodies[0]).toEqual(bodies[1]);
    expect(bodies[1]).toEqual(bodies[2]);
  });

  it("audits credential.leaked with the owner, the credential and the reporter's address — never the secret", async () => {
    const key = await keyOf(alice);
    const ip = uniqueIp();
    await json(await report({ credentials: [key.apiKey] }, { "cf-connecting-ip": ip }), 202);
    const entry = await env.DB.prepare(
      "SELECT subject_user_id, target_type, target_id, ip, metadata FROM audit_log WHERE kind = 'credential.leaked' AND target_id = ?",
    )
      .bind(key.uuid)
      .first<Record<string, string>>();
    const owner = await env.DB.prepare("SELECT id FROM users WHERE username = ?").bind(alice.username).first<{ id: string }>();
    expect(entry).toMatchObject({ subject_user_id: owner!.id, target_type: "api_key", target_id: key.uuid, ip });
    expect(JSON.parse(entry!.metadata!)).toEqual({ owner: alice.username, label: "oauth", reporter: ip });
    expect(JSON.stringify(entry)).not.toContain(key.apiKey);
    // The owner sees it in their own audit log.
    const mine = await json(await call("/api/v1/user/logs", { auth: alice.auth }), 200);
    expect(mine.logs.some((l: any) => l.kind === "credential.leaked" && l.target?.id === key.uuid)).toBe(true);
  });

  it("reads nothing when no entry is a well-formed keyward secret", async () => {
    const spy = countingD1();
    const ended = await revokeLeaked(spy.db, await loadConfig(env), SYSTEM_ACTOR, [
      "zak_short",
      "hello",
      `${generateSecret("zak")}x`,
    ]);
    expect(ended).toBe(0);
    expect(spy.roundTrips()).toBe(0);
  });

  it.each(["api_keys", "registry_tokens", "refresh_tokens", "sessions"])(
    "finds reported %s through the unique hash index",
    async (table) => {
      const plan = await env.DB.prepare(
        `EXPLAIN QUERY PLAN SELECT id FROM ${table} t WHERE t.secret_hash IN (SELECT value FROM json_each(?))`,
      )
        .bind("[]")
        .all<{ detail: string }>();
      const details = plan.results.map((r) => r.detail).join(" | ");
      expect(details).toContain(`USING INDEX ${table}_secret_hash`);
      expect(details).not.toMatch(new RegExp(`SCAN (t|${table})(?! USING)`));
    },
  );

  it("ends a thousand secrets in one D1 round trip, each audited once, duplicates once", async () => {
    const keys = await Promise.all(Array.from({ length: 3 }, () => keyOf(alice)));
    const padding = Array.from({ length: 995 }, () => generateSecret("krt"));
    const spy = countingD1();
    const reported = [...keys.map((k) => k.apiKey), keys[0]!.apiKey, generateSecret("krf"), ...padding];
    expect(reported).toHaveLength(1000);
    expect(await revokeLeaked(spy.db, await loadConfig(env), SYSTEM_ACTOR, reported)).toBe(3);
    expect(spy.roundTrips()).toBe(1);
    for (const k of keys) expect(await auditCount("credential.leaked", k.uuid)).toBe(1);
  });

  it("refuses any Authorization header with 403, as GitHub does", async () => {
    const key = await keyOf(alice);
    for (const auth of [alice.auth, bearer(key.apiKey), "Bearer nonsense"]) {
      const body = await json(
        await call("/credentials/revoke", { method: "POST", auth, json: { credentials: [key.apiKey] } }),
        403,
      );
      expect(body.error.code).toBe("forbidden");
    }
    await json(await call("/api/v1/user/", { auth: bearer(key.apiKey) }), 200);
  });

  it.each([
    ["an empty list", { credentials: [] }],
    ["more than 1,000 entries", { credentials: Array.from({ length: 1001 }, (_, i) => `x${i}`) }],
    ["a list of numbers", { credentials: [1, 2] }],
    ["a string instead of a list", { credentials: "zak_x" }],
    ["no credentials field", {}],
    ["an unknown field", { credentials: ["x"], note: "hi" }],
    ["an over-long entry", { credentials: ["x".repeat(513)] }],
    ["a JSON array", [["x"]]],
  ])("answers %s with 400", async (_, body) => {
    expect((await json(await report(body), 400)).error.code).toBe("validation_failed");
  });

  it("answers malformed JSON with 400 and a body over 64 KiB with 413", async () => {
    const bad = await call("/credentials/revoke", {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json", "cf-connecting-ip": uniqueIp() },
    });
    expect(bad.status).toBe(400);
    const big = await report({ credentials: Array.from({ length: 1000 }, () => "z".repeat(80)) });
    expect(big.status).toBe(413);
  });

  it("throttles each address with the rate limiting binding: 429 with Retry-After past 10 a minute", async () => {
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 11; i++) statuses.push((await report({ credentials: ["x"] }, { "cf-connecting-ip": ip })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(202));
    const refused = await report({ credentials: ["x"] }, { "cf-connecting-ip": ip });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("60");
    // Another address is not affected.
    expect((await report({ credentials: ["x"] })).status).toBe(202);
  });

  it("throttles before reading the body (a throttled address's junk is still a 429)", async () => {
    const ip = uniqueIp();
    for (let i = 0; i < 10; i++) await report({ credentials: ["x"] }, { "cf-connecting-ip": ip });
    const response = await call("/credentials/revoke", {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json", "cf-connecting-ip": ip },
    });
    expect(response.status).toBe(429);
  });
});

describe("GET /.well-known/keyward/secret-patterns.json", () => {
  it("publishes one regex per prefix that matches real secrets and the revoke URL", async () => {
    const response = await call("/.well-known/keyward/secret-patterns.json");
    const body = await json(response, 200);
    expect(response.headers.get("cache-control")).toBe("public, max-age=86400");
    expect(body.revokeUrl).toBe("https://keyward.test/credentials/revoke");
    expect(body.patterns.map((p: any) => p.prefix)).toEqual(["zak", "krt", "krf", "kss"]);
    for (const pattern of body.patterns) {
      const regex = new RegExp(pattern.regex, "g");
      const secret = generateSecret(pattern.prefix);
      expect(`export KEY=${secret}\n`.match(regex)).toEqual([secret]);
      expect(`${pattern.prefix}_short x${secret}`.match(regex)).toBeNull();
      expect(pattern.revokeUrl).toBe(body.revokeUrl);
    }
  });

  it("holds the same regexes as the shipped .secretlintrc.json", async () => {
    const body = await json(await call("/.well-known/keyward/secret-patterns.json"), 200);
    const rc = JSON.parse(env.TEST_SECRETLINTRC);
    const shipped = rc.rules[0].options.patterns.flatMap((p: any) => p.patterns.map((r: string) => r.slice(1, -1)));
    expect(shipped).toEqual(body.patterns.map((p: any) => p.regex));
  });
});

describe("the leak report's trust boundary", () => {
  it("never authenticates: a reporter's own admin key in the body is ended like any other", async () => {
    const admin = await keyOf(
      { username: (await import("./helpers")).ADMIN.username, password: "", auth: adminAuth() },
      { label: "leaky" },
    );
    await json(await report({ credentials: [admin.apiKey] }), 202);
    await json(await call("/api/v1/user/", { auth: bearer(admin.apiKey) }), 401);
  });
});
