import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { createDb } from "../../src/db/client";
import { registryTokens } from "../../src/db/schema";
import worker from "../../src/index";
import { SYSTEM_ACTOR } from "../../src/services/audit";
import { rotateRegistryToken } from "../../src/services/rotation";
import { adminAuth, basic, bearer, call, createUser, json, type TestUser, uniqueIp } from "../helpers";
import { formPost, introspect, keyOf, refreshToken, registryToken, revoke } from "../oauth/support";
import { auditCount } from "../security/support";
import { deprecatedCount, lapse, rotateKey, rotateToken, whoAmI } from "./support";

/*
 * Rotation with a grace period (issue 13 item 1): the credential keeps its id and gets a new
 * secret; the old one works, saying so in Deprecation/Sunset headers, until its sunset — then
 * it is refused and the cron deletes it. What the old secret minted ends with it.
 */

let alice: TestUser;
beforeAll(async () => {
  alice = await createUser();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function runCron() {
  await worker.scheduled(createScheduledController({ cron: "*/10 * * * *", scheduledTime: Date.now() }), env);
}

describe("API key rotation, end to end", () => {
  it("the new secret works at once; the old one works with Deprecation and Sunset until its sunset, then is refused and swept", async () => {
    const key = await keyOf(alice, { label: "deploy bot", scopes: ["alice/*"] });
    const rotatedAt = Date.now();
    const rotated = await rotateKey(alice.auth, key.uuid, 2);
    expect(rotated).toMatchObject({ id: key.uuid, label: "deploy bot", scopes: ["alice/*"], expiresAt: null });
    expect(rotated.apiKey).toMatch(/^zak_/);
    expect(rotated.apiKey).not.toBe(key.apiKey);
    expect(rotated.deprecatedSecrets).toHaveLength(1);
    const [old] = rotated.deprecatedSecrets;
    expect(Date.parse(old.sunsetAt) - rotatedAt).toBeGreaterThanOrEqual(1500);
    expect(Date.parse(old.sunsetAt) - rotatedAt).toBeLessThanOrEqual(3000);

    const fresh = await whoAmI(rotated.apiKey);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("Deprecation")).toBeNull();
    expect(fresh.headers.get("Sunset")).toBeNull();

    const client = uniqueIp();
    const stale = await call("/api/v1/user/", { auth: bearer(key.apiKey), headers: { "cf-connecting-ip": client } });
    expect(await json(stale, 200)).toMatchObject({ username: alice.username, authenticated_by: "api_key" });
    expect(stale.headers.get("Deprecation")).toBe(`@${Math.floor(Date.parse(old.deprecatedAt) / 1000)}`);
    expect(stale.headers.get("Sunset")).toBe(new Date(old.sunsetAt).toUTCString());

    // The listing shows the old secret with its own last use, so the operator sees it go quiet.
    await sleep(50);
    const listed = (await json(await call("/api/v1/user/apikeys", { auth: alice.auth }), 200)).apiKeys.find(
      (k: any) => k.id === key.uuid,
    );
    expect(listed.deprecatedSecrets).toEqual([
      expect.objectContaining({ id: old.id, lastUsedIp: client, lastUsedAt: expect.any(String) }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(key.apiKey);

    await sleep(Math.max(0, Date.parse(old.sunsetAt) - Date.now() + 100));
    expect((await whoAmI(key.apiKey)).status).toBe(401);
    expect((await whoAmI(rotated.apiKey)).status).toBe(200);
    const gone = (await json(await call("/api/v1/user/apikeys", { auth: alice.auth }), 200)).apiKeys.find(
      (k: any) => k.id === key.uuid,
    );
    expect(gone.deprecatedSecrets).toEqual([]);
    expect(await deprecatedCount(key.uuid)).toBe(1);
    await runCron();
    expect(await deprecatedCount(key.uuid)).toBe(0);
    expect(await auditCount("api_key.rotate", key.uuid)).toBe(1);
  });

  it("a grace period of 0 ends the old secret at once", async () => {
    const key = await keyOf(alice);
    const rotated = await rotateKey(alice.auth, key.uuid, 0);
    expect(rotated.deprecatedSecrets).toEqual([]);
    expect((await whoAmI(key.apiKey)).status).toBe(401);
    expect((await whoAmI(rotated.apiKey)).status).toBe(200);
    expect(await deprecatedCount(key.uuid)).toBe(0);
  });

  it("rotating again keeps the earlier old secret until its own sunset; each can be ended early", async () => {
    const key = await keyOf(alice);
    const first = await rotateKey(alice.auth, key.uuid, 3600);
    const second = await rotateKey(alice.auth, key.uuid, 60);
    expect(second.deprecatedSecrets).toHaveLength(2);
    for (const secret of [key.apiKey, first.apiKey, second.apiKey]) expect((await whoAmI(secret)).status).toBe(200);
    const oldest = second.deprecatedSecrets.find((d: any) => d.id === first.deprecatedSecrets[0].id);
    const end = await call(`/api/v1/user/apikeys/${key.uuid}/deprecated-secrets/${oldest.id}`, {
      method: "DELETE",
      auth: alice.auth,
    });
    expect(end.status).toBe(204);
    expect((await whoAmI(key.apiKey)).status).toBe(401);
    expect((await whoAmI(first.apiKey)).status).toBe(200);
    expect((await whoAmI(second.apiKey)).status).toBe(200);
    const again = await call(`/api/v1/user/apikeys/${key.uuid}/deprecated-secrets/${oldest.id}`, {
      method: "DELETE",
      auth: alice.auth,
    });
    expect((await json(again, 404)).error.code).toBe("not_found");
    expect(await auditCount("api_key.end_deprecated_secret", key.uuid)).toBe(1);
  });

  it("access tokens minted with the old secret expire no later than its sunset", async () => {
    const key = await keyOf(alice);
    await rotateKey(alice.auth, key.uuid, 30);
    const res = await call("/v2/auth?service=registry.local&scope=repository:alice/app:pull", {
      auth: basic(alice.username, key.apiKey),
    });
    const body = await json(res, 200);
    expect(res.headers.get("Sunset")).not.toBeNull();
    const { exp } = decodeJwt(body.token);
    expect(exp! * 1000).toBeLessThanOrEqual(Date.now() + 31_000);
  });

  it("refresh tokens minted by the old secret — before or during the grace period — end with it; the new secret's live on", async () => {
    const key = await keyOf(alice);
    const before = await refreshToken(alice.username, key.apiKey);
    const rotated = await rotateKey(alice.auth, key.uuid, 3600);
    const during = await refreshToken(alice.username, key.apiKey);
    const fromNew = await refreshToken(alice.username, rotated.apiKey);
    const grant = (token: string) =>
      formPost("/v2/auth", { grant_type: "refresh_token", service: "registry.local", refresh_token: token });
    for (const token of [before, during, fromNew]) expect((await grant(token)).status).toBe(200);
    await lapse(rotated.deprecatedSecrets[0].id);
    expect((await grant(before)).status).toBe(401);
    expect((await grant(during)).status).toBe(401);
    expect((await grant(fromNew)).status).toBe(200);
    // The cron's delete of the old secret takes them with it.
    await runCron();
    const left = await env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE api_key_id = ?")
      .bind(key.uuid)
      .first<{ n: number }>();
    expect(left!.n).toBe(1);
  });

  it("with a grace period of 0, refresh tokens the old secret minted end at once", async () => {
    const key = await keyOf(alice);
    const before = await refreshToken(alice.username, key.apiKey);
    await rotateKey(alice.auth, key.uuid, 0);
    const res = await formPost("/v2/auth", { grant_type: "refresh_token", service: "registry.local", refresh_token: before });
    expect(res.status).toBe(401);
  });

  it("the old secret is the key: a disabled owner or a revoked key ends it too", async () => {
    const bob = await createUser();
    const key = await keyOf(bob);
    await rotateKey(bob.auth, key.uuid, 3600);
    expect((await whoAmI(key.apiKey)).status).toBe(200);
    await call(`/api/v1/user/apikeys/${key.uuid}`, { method: "DELETE", auth: bob.auth });
    expect((await whoAmI(key.apiKey)).status).toBe(401);
    expect(await deprecatedCount(key.uuid)).toBe(0);

    const other = await keyOf(bob);
    await rotateKey(bob.auth, other.uuid, 3600);
    const disable = await call(`/api/v1/superuser/users/${bob.username}`, {
      method: "PUT",
      auth: adminAuth(),
      json: { enabled: false },
    });
    expect(disable.status).toBe(200);
    expect((await whoAmI(other.apiKey)).status).toBe(401);
  });

  it("introspection calls the old secret active until its sunset (exp = sunset); /oauth/revoke ends it alone", async () => {
    const key = await keyOf(alice);
    const rotated = await rotateKey(alice.auth, key.uuid, 600);
    const sunset = Math.floor(Date.parse(rotated.deprecatedSecrets[0].sunsetAt) / 1000);
    const seen = await json(await introspect(alice.auth, key.apiKey), 200);
    expect(seen).toMatchObject({ active: true, token_type: "api_key", exp: sunset });
    expect((await revoke(key.apiKey)).status).toBe(200);
    expect(await json(await introspect(alice.auth, key.apiKey), 200)).toEqual({ active: false });
    expect((await whoAmI(key.apiKey)).status).toBe(401);
    expect((await whoAmI(rotated.apiKey)).status).toBe(200);
  });

  it("a leak report of the old secret ends it alone", async () => {
    const key = await keyOf(alice);
    const rotated = await rotateKey(alice.auth, key.uuid, 600);
    const report = await call("/credentials/revoke", {
      method: "POST",
      json: { credentials: [key.apiKey] },
      headers: { "cf-connecting-ip": uniqueIp() },
    });
    expect(report.status).toBe(202);
    expect((await whoAmI(key.apiKey)).status).toBe(401);
    expect((await whoAmI(rotated.apiKey)).status).toBe(200);
    expect(await auditCount("credential.leaked", key.uuid)).toBe(1);
  });
});

describe("who may rotate an API key", () => {
  it("a key rotates itself and the keys made with it; not a sibling; the old secret rotates and creates nothing", async () => {
    const carol = await createUser();
    const parent = await keyOf(carol, { label: "parent" });
    const child = await json(
      await call("/api/v1/user/apikeys", {
        method: "POST",
        auth: bearer(parent.apiKey),
        json: { description: "child", lifetime: -1 },
      }),
      201,
    );
    const sibling = await keyOf(carol, { label: "sibling" });
    const childNow = await rotateKey(bearer(parent.apiKey), child.id, 60);
    const refused = [sibling.uuid, parent.uuid];
    for (const id of refused) {
      expect((await rotateKey(bearer(childNow.apiKey), id, 60, 403)).error.message).toMatch(
        /only itself and the keys made with it/,
      );
    }
    const self = await rotateKey(bearer(parent.apiKey), parent.uuid, 60);
    // parent.apiKey is now the old secret.
    expect((await rotateKey(bearer(parent.apiKey), parent.uuid, 60, 403)).error.message).toMatch(/old secret cannot rotate/);
    const made = await call("/api/v1/user/apikeys", {
      method: "POST",
      auth: bearer(parent.apiKey),
      json: { description: "from the old secret", lifetime: 60 },
    });
    expect((await json(made, 403)).error.message).toMatch(/old secret cannot create keys/);
    // The old secret is time-narrowed: it manages no registry either.
    const registries = await call("/registries", {
      method: "POST",
      auth: bearer(parent.apiKey),
      json: { properties: { name: "x-reg" } },
    });
    expect(registries.status).toBe(403);
    expect((await whoAmI(self.apiKey)).status).toBe(200);
  });

  it("someone else's key is not found; the owner's key-id 404 costs no audit entry", async () => {
    const dave = await createUser();
    const key = await keyOf(dave);
    const res = await call(`/api/v1/user/apikeys/${key.uuid}/rotate`, {
      method: "POST",
      auth: alice.auth,
      json: { gracePeriodSeconds: 60 },
    });
    expect((await json(res, 404)).error.code).toBe("not_found");
    expect(await auditCount("api_key.rotate", key.uuid)).toBe(0);
    expect((await whoAmI(key.apiKey)).status).toBe(200);
    const end = await call(`/api/v1/user/apikeys/${key.uuid}/deprecated-secrets/${crypto.randomUUID()}`, {
      method: "DELETE",
      auth: alice.auth,
    });
    expect(end.status).toBe(404);
  });

  it("concurrent rotations of one key: each that wins leaves one old secret and one audit entry, the rest are 409", async () => {
    const key = await keyOf(alice);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        call(`/api/v1/user/apikeys/${key.uuid}/rotate`, { method: "POST", auth: alice.auth, json: { gracePeriodSeconds: 60 } }),
      ),
    );
    const won = results.filter((r) => r.status === 201).length;
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(won).toBeGreaterThan(0);
    expect(await deprecatedCount(key.uuid)).toBe(won);
    expect(await auditCount("api_key.rotate", key.uuid)).toBe(won);
  });

  it("a rotation that lost the race (its read of the secret is stale) is a 409 and writes nothing", async () => {
    const robot = await registryToken();
    const db = createDb(env.DB);
    const [stale] = await db.select().from(registryTokens).where(eq(registryTokens.id, robot.tokenId));
    await json(await rotateToken(robot.registryId, robot.tokenId, 60), 201);
    const config = await loadConfig(env);
    const principal = { user: { id: stale!.createdByUserId, username: "root" }, lineage: { kind: "password" } } as any;
    await expect(rotateRegistryToken(db, config, SYSTEM_ACTOR, principal, stale!, 60)).rejects.toMatchObject({
      code: "conflict",
    });
    expect(await deprecatedCount(robot.tokenId)).toBe(1);
    expect(await auditCount("registry_token.rotate", robot.tokenId)).toBe(1);
  });
});

describe("rotation input", () => {
  const cases: [string, unknown, number][] = [
    ["a missing body", undefined, 400],
    ["a missing gracePeriodSeconds", {}, 400],
    ["a negative grace", { gracePeriodSeconds: -1 }, 400],
    ["more than 7 days", { gracePeriodSeconds: 604_801 }, 400],
    ["a fraction", { gracePeriodSeconds: 1.5 }, 400],
    ["a string", { gracePeriodSeconds: "60" }, 400],
    ["an unknown field", { gracePeriodSeconds: 60, label: "x" }, 400],
  ];
  it.each(cases)("%s is a 400 in keyward's format, and the key is unchanged", async (_, body, status) => {
    const key = await keyOf(alice);
    const res = await call(`/api/v1/user/apikeys/${key.uuid}/rotate`, { method: "POST", auth: alice.auth, json: body });
    expect((await json(res, status)).error.code).toBe("validation_failed");
    expect((await whoAmI(key.apiKey)).status).toBe(200);
    expect(await deprecatedCount(key.uuid)).toBe(0);
  });

  it("malformed JSON, a bad UUID and the 7-day maximum", async () => {
    const key = await keyOf(alice);
    const malformed = await call(`/api/v1/user/apikeys/${key.uuid}/rotate`, {
      method: "POST",
      auth: alice.auth,
      body: "{",
      headers: { "content-type": "application/json" },
    });
    expect((await json(malformed, 400)).error.code).toBe("bad_request");
    const badId = await call("/api/v1/user/apikeys/not-a-uuid/rotate", {
      method: "POST",
      auth: alice.auth,
      json: { gracePeriodSeconds: 1 },
    });
    expect((await json(badId, 400)).error.message).toMatch(/UUID/);
    const week = await rotateKey(alice.auth, key.uuid, 604_800);
    expect(Date.parse(week.deprecatedSecrets[0].sunsetAt) - Date.now()).toBeGreaterThan(604_790_000);
  });

  it("without credentials: 401", async () => {
    const key = await keyOf(alice);
    const res = await call(`/api/v1/user/apikeys/${key.uuid}/rotate`, { method: "POST", json: { gracePeriodSeconds: 1 } });
    expect(res.status).toBe(401);
  });
});

describe("registry token rotation (IONOS surface)", () => {
  const login = (service: string, name: string, password: string) =>
    call(`/v2/auth?service=${service}&scope=repository:ci/app:pull`, { auth: basic(name, password) });

  it("a robot's old password keeps pulling until its sunset, with the headers; the new one works at once", async () => {
    const robot = await registryToken();
    const res = await rotateToken(robot.registryId, robot.tokenId, 2);
    const rotated = await json(res, 201);
    const password = rotated.properties.credentials.password as string;
    expect(password).toMatch(/^krt_/);
    expect(rotated).toMatchObject({ id: robot.tokenId, properties: { name: robot.name } });
    expect(rotated.metadata.deprecatedSecrets).toHaveLength(1);
    const old = rotated.metadata.deprecatedSecrets[0];

    const stale = await login(robot.service, robot.name, robot.password);
    expect(stale.status).toBe(200);
    expect(stale.headers.get("Sunset")).toBe(new Date(old.sunsetAt).toUTCString());
    expect(stale.headers.get("Deprecation")).toMatch(/^@\d+$/);
    const fresh = await login(robot.service, robot.name, password);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get("Sunset")).toBeNull();
    // The old password serves its own registry only, like the new one.
    expect((await login("registry.local", robot.name, robot.password)).status).toBe(401);

    const listed = await json(await call(`/registries/${robot.registryId}/tokens`, { auth: adminAuth() }), 200);
    const item = listed.items.find((t: any) => t.id === robot.tokenId);
    expect(item.metadata.deprecatedSecrets).toEqual([expect.objectContaining({ id: old.id, lastUsedAt: expect.any(String) })]);
    expect(item.properties.credentials.password).toBe("");

    await sleep(Math.max(0, Date.parse(old.sunsetAt) - Date.now() + 100));
    expect((await login(robot.service, robot.name, robot.password)).status).toBe(401);
    expect((await login(robot.service, robot.name, password)).status).toBe(200);
    expect(await auditCount("registry_token.rotate", robot.tokenId)).toBe(1);
  });

  it("disabling the token ends the old password as well; a PUT (new password, no grace) ends old passwords", async () => {
    const robot = await registryToken();
    await json(await rotateToken(robot.registryId, robot.tokenId, 3600), 201);
    const disable = await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, {
      method: "PATCH",
      auth: adminAuth(),
      json: { status: "disabled" },
    });
    expect(disable.status).toBe(200);
    expect((await login(robot.service, robot.name, robot.password)).status).toBe(401);

    const other = await registryToken();
    await json(await rotateToken(other.registryId, other.tokenId, 3600), 201);
    const put = await call(`/registries/${other.registryId}/tokens/${other.tokenId}`, {
      method: "PUT",
      auth: adminAuth(),
      json: { properties: { name: other.name, scopes: [{ type: "repository", name: "ci/*", actions: ["pull"] }] } },
    });
    expect(put.status).toBe(200);
    expect((await login(other.service, other.name, other.password)).status).toBe(401);
    expect(await deprecatedCount(other.tokenId)).toBe(0);
  });

  it("an old password ended early is refused at once; refresh tokens it minted go with it", async () => {
    const robot = await registryToken();
    const rotated = await json(await rotateToken(robot.registryId, robot.tokenId, 3600), 201);
    const minted = await formPost("/v2/auth", {
      grant_type: "password",
      service: robot.service,
      username: robot.name,
      password: robot.password,
      access_type: "offline",
      client_id: "ci",
    });
    const refresh = (await json(minted, 200)).refresh_token as string;
    const secretId = rotated.metadata.deprecatedSecrets[0].id;
    const end = await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}/deprecated-secrets/${secretId}`, {
      method: "DELETE",
      auth: adminAuth(),
    });
    expect(end.status).toBe(204);
    expect((await login(robot.service, robot.name, robot.password)).status).toBe(401);
    const grant = await formPost("/v2/auth", { grant_type: "refresh_token", service: robot.service, refresh_token: refresh });
    expect(grant.status).toBe(401);
  });

  it("errors are IONOS's: bad body, unknown token, bad UUID, someone else's registry", async () => {
    const robot = await registryToken();
    const bad = await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}/rotate`, {
      method: "POST",
      auth: adminAuth(),
      json: { gracePeriodSeconds: -5 },
    });
    const body = await json(bad, 400);
    expect(body).toMatchObject({ httpStatus: 400, messages: [expect.objectContaining({ errorCode: expect.any(String) })] });
    const unknown = await rotateToken(robot.registryId, crypto.randomUUID(), 60);
    expect((await json(unknown, 404)).httpStatus).toBe(404);
    const badId = await rotateToken(robot.registryId, "nope", 60);
    expect((await json(badId, 400)).httpStatus).toBe(400);
    const stranger = await createUser();
    const foreign = await rotateToken(robot.registryId, robot.tokenId, 60, stranger.auth);
    expect((await json(foreign, 404)).httpStatus).toBe(404);
    expect((await login(robot.service, robot.name, robot.password)).status).toBe(200);
    expect(await deprecatedCount(robot.tokenId)).toBe(0);
  });
});
