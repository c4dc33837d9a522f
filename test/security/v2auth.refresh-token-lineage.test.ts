import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { adminAuth, basic, call, createKey, createUser, json, type TestUser, uniqueIp } from "../helpers";
import { postToken, registryWithToken } from "./support";

/*
 * Defect 2 (high): a key scoped ["alice/a"] obtained a krf_ refresh token that redeemed with
 * the owner's full rights. Defect 3 (medium): refresh tokens outlived the key that minted
 * them (revoked, expired), the password change, and could not be listed or revoked.
 * A refresh token is a child of the credential that minted it.
 */

const SERVICE = "registry.local";
let alice: TestUser;
beforeAll(async () => {
  alice = await createUser();
});

async function refreshFromGet(auth: string): Promise<string> {
  const body = await json(
    await call(`/v2/auth?service=${SERVICE}&offline_token=true&client_id=docker`, {
      auth,
      headers: { "cf-connecting-ip": uniqueIp() },
    }),
    200,
  );
  expect(body.refresh_token).toMatch(/^krf_/);
  return body.refresh_token;
}

async function refreshFromPost(username: string, password: string, service = SERVICE): Promise<string> {
  const body = await json(await postToken({ grant_type: "password", username, password, service, access_type: "offline" }), 200);
  return body.refresh_token;
}

const redeem = (refreshToken: string, scope: string, service = SERVICE) =>
  postToken({ grant_type: "refresh_token", refresh_token: refreshToken, service, scope });

async function redeemedAccess(refreshToken: string, scope: string) {
  return decodeJwt((await json(await redeem(refreshToken, scope), 200)).token).access as { actions: string[] }[];
}

describe("a refresh token minted by a scoped API key", () => {
  it.each([
    ["GET offline_token=true", (key: string) => refreshFromGet(basic(alice.username, key))],
    ["POST access_type=offline", (key: string) => refreshFromPost(alice.username, key)],
  ])("keeps the key's scopes (%s): push on alice/b is dropped", async (_how, mint) => {
    const { apiKey } = await createKey(alice, { label: "scoped", scopes: [`${alice.username}/a`] });
    const refresh = await mint(apiKey);
    expect((await redeemedAccess(refresh, `repository:${alice.username}/b:pull,push`))[0]!.actions).toEqual([]);
    expect((await redeemedAccess(refresh, `repository:${alice.username}/a:pull,push`))[0]!.actions).toEqual(["pull", "push"]);
  });
});

describe("a refresh token dies with what minted it", () => {
  it("when its API key is revoked", async () => {
    const { apiKey, uuid } = await createKey(alice, { label: "revoke-me" });
    const refresh = await refreshFromPost(alice.username, apiKey);
    await json(await redeem(refresh, ""), 200);
    await json(await call(`/v2/_zot/ext/apikey?id=${uuid}`, { method: "DELETE", auth: alice.auth }), 200);
    await json(await redeem(refresh, ""), 401);
  });

  it("when its API key expires, and it never outlives the key", async () => {
    const expirationDate = new Date(Date.now() + 3_600_000).toISOString();
    const { apiKey, uuid } = await createKey(alice, { label: "short", expirationDate });
    const refresh = await refreshFromPost(alice.username, apiKey);
    const listed = await json(await call("/api/v1/user/refresh-tokens", { auth: alice.auth }), 200);
    const mine = listed.refreshTokens.find((t: any) => t.parentId === uuid);
    expect(new Date(mine.expiresAt).getTime()).toBeLessThanOrEqual(new Date(expirationDate).getTime());
    await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, uuid)
      .run();
    await json(await redeem(refresh, ""), 401);
  });

  it("when the password that minted it changes (a key-minted one lives on)", async () => {
    const bob = await createUser();
    const byPassword = await refreshFromPost(bob.username, bob.password);
    const { apiKey } = await createKey(bob, { label: "k" });
    const byKey = await refreshFromPost(bob.username, apiKey);
    await json(
      await call(`/api/v1/superuser/users/${bob.username}`, {
        method: "PUT",
        auth: adminAuth(),
        json: { password: "a-new-password-123" },
      }),
      200,
    );
    await json(await redeem(byPassword, ""), 401);
    await json(await redeem(byKey, ""), 200);
  });

  it("when its user is disabled", async () => {
    const carol = await createUser();
    const refresh = await refreshFromPost(carol.username, carol.password);
    await json(
      await call(`/api/v1/superuser/users/${carol.username}`, { method: "PUT", auth: adminAuth(), json: { enabled: false } }),
      200,
    );
    await json(await redeem(refresh, ""), 401);
  });

  it("when its registry token is disabled or deleted, and it keeps the token's scopes", async () => {
    const robot = await registryWithToken([{ type: "repository", name: "ci/*", actions: ["pull"] }]);
    const refresh = await refreshFromPost(robot.name, robot.password, robot.service);
    const res = await redeem(refresh, "repository:ci/app:pull,push", robot.service);
    const token = decodeJwt((await json(res, 200)).token);
    expect(token.sub).toBe(robot.name);
    expect((token.access as any)[0].actions).toEqual(["pull"]);
    await json(
      await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, {
        method: "PATCH",
        auth: adminAuth(),
        json: { status: "disabled" },
      }),
      200,
    );
    await json(await redeem(refresh, "", robot.service), 401);
    await json(
      await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, {
        method: "PATCH",
        auth: adminAuth(),
        json: { status: "enabled" },
      }),
      200,
    );
    // A disable ends it: enabling the token again does not bring it back.
    await json(await redeem(refresh, "", robot.service), 401);
    const again = await refreshFromPost(robot.name, robot.password, robot.service);
    await json(await redeem(again, "", robot.service), 200);
    const del = await call(`/registries/${robot.registryId}/tokens/${robot.tokenId}`, { method: "DELETE", auth: adminAuth() });
    expect(del.status).toBe(204);
    await json(await redeem(again, "", robot.service), 401);
  });
});

describe("refresh tokens are listed and revocable on their own", () => {
  it("lists them without secrets and revokes one; others' tokens are 404", async () => {
    const dave = await createUser();
    const refresh = await refreshFromPost(dave.username, dave.password);
    const listed = await json(await call("/api/v1/user/refresh-tokens", { auth: dave.auth }), 200);
    expect(listed.refreshTokens).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain(refresh);
    expect(listed.refreshTokens[0]).toMatchObject({ service: SERVICE, via: "password", parentId: null });
    const id = listed.refreshTokens[0].id;
    await json(await call(`/api/v1/user/refresh-tokens/${id}`, { method: "DELETE", auth: alice.auth }), 404);
    expect((await call(`/api/v1/user/refresh-tokens/${id}`, { method: "DELETE", auth: dave.auth })).status).toBe(204);
    await json(await redeem(refresh, ""), 401);
    await json(await call(`/api/v1/user/refresh-tokens/${id}`, { method: "DELETE", auth: dave.auth }), 404);
    await json(await call("/api/v1/user/refresh-tokens/not-a-uuid", { method: "DELETE", auth: dave.auth }), 400);
  });

  it("a refresh token is no credential for keyward's APIs", async () => {
    const erin = await createUser();
    const refresh = await refreshFromPost(erin.username, erin.password);
    const res = await call("/api/v1/user/", { auth: `Bearer ${refresh}` });
    const body = await json(res, 401);
    expect(body.error.message).toContain("grant_type=refresh_token");
    await json(await call("/api/v1/user/", { auth: basic(erin.username, refresh) }), 401);
  });
});
