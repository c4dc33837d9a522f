import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { basic, createKey, createUser, json, uniqueIp } from "../helpers";
import { registryWithToken } from "./support";

/*
 * Defect 9: the README promises every secret keeps working across a pepper rotation and is
 * re-hashed on next use; only API keys were. The full rotation, for every secret kind:
 * old pepper → both (KEYWARD_PEPPER_PREVIOUS) → new pepper only.
 */

const NEW_PEPPER = "rotated-pepper-0123456789abcdef0123456789abcdef";
const both = {
  ...env,
  KEYWARD_PEPPER: NEW_PEPPER,
  KEYWARD_PEPPER_VERSION: "2",
  KEYWARD_PEPPER_PREVIOUS: `1:${env.KEYWARD_PEPPER}`,
};
const newOnly = { ...env, KEYWARD_PEPPER: NEW_PEPPER, KEYWARD_PEPPER_VERSION: "2", KEYWARD_PEPPER_PREVIOUS: undefined };

async function fetchWith(workerEnv: typeof env, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("cf-connecting-ip", uniqueIp());
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`https://keyward.test${path}`, { ...init, headers }), workerEnv, ctx);
  // The re-hash is deferred bookkeeping: let it finish.
  await waitOnExecutionContext(ctx);
  return res;
}

const versions = async (table: string, id: string) =>
  (await env.DB.prepare(`SELECT pepper_version AS v FROM ${table} WHERE id = ?`).bind(id).first<{ v: number }>())!.v;

describe("pepper rotation keeps every secret kind working and re-hashes it on use", () => {
  it("API keys, registry tokens and refresh tokens: old → both → new only", async () => {
    const user = await createUser();
    const { apiKey, uuid } = await createKey(user, { label: "rotate" });
    const robot = await registryWithToken([{ type: "repository", name: "ci/*", actions: ["pull"] }]);
    const minted = await json(
      await fetchWith(env, `/v2/auth?service=registry.local&offline_token=true`, {
        headers: { authorization: basic(user.username, user.password) },
      }),
      200,
    );
    const refresh: string = minted.refresh_token;
    const refreshId = (await env.DB.prepare("SELECT id FROM refresh_tokens ORDER BY created_at DESC LIMIT 1").first<{
      id: string;
    }>())!.id;

    const useAll = async (workerEnv: typeof env) => [
      (await fetchWith(workerEnv, "/api/v1/user/", { headers: { authorization: `Bearer ${apiKey}` } })).status,
      (
        await fetchWith(workerEnv, `/v2/auth?service=${robot.service}`, {
          headers: { authorization: basic(robot.name, robot.password) },
        })
      ).status,
      (
        await fetchWith(workerEnv, "/v2/auth", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "refresh_token",
            refresh_token: refresh,
            service: "registry.local",
          }).toString(),
        })
      ).status,
    ];

    expect(await useAll(both)).toEqual([200, 200, 200]);
    expect([
      await versions("api_keys", uuid),
      await versions("registry_tokens", robot.tokenId),
      await versions("refresh_tokens", refreshId),
    ]).toEqual([2, 2, 2]);
    expect(await useAll(newOnly)).toEqual([200, 200, 200]);
  });

  it("a secret not used while both peppers were set stops working under the new one only", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user, { label: "idle" });
    expect((await fetchWith(newOnly, "/api/v1/user/", { headers: { authorization: `Bearer ${apiKey}` } })).status).toBe(401);
  });

  it("secrets created under the new pepper work under it", async () => {
    const user = await createUser();
    const created = await json(
      await fetchWith(newOnly, "/v2/_zot/ext/apikey", {
        method: "POST",
        headers: { authorization: basic(user.username, user.password), "content-type": "application/json" },
        body: JSON.stringify({ label: "new" }),
      }),
      201,
    );
    expect((await fetchWith(newOnly, "/api/v1/user/", { headers: { authorization: `Bearer ${created.apiKey}` } })).status).toBe(
      200,
    );
    expect(await versions("api_keys", created.uuid)).toBe(2);
  });
});
