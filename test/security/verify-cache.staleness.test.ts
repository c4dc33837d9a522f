import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, createUser } from "../helpers";
import { keyOf } from "../oauth/support";
import { send } from "../perf/support";

/*
 * Found in review (issue 11): in cache mode every cache hit stored its entry again with a new
 * expiry, so a key used more often than the bound was never read from D1 again — revoked in
 * another isolate, it stayed accepted here for as long as it kept being used. The bound
 * counts from the D1 read, whatever happens after it.
 */

const SHORT = { KEYWARD_VERIFY_CACHE_SECONDS: "1" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the verify cache's bound", () => {
  it("counts from the D1 read: a key in constant use is read again once the bound has passed", async () => {
    const user = await createUser();
    const { apiKey, uuid } = await keyOf(user);
    const use = async () => (await send("/api/v1/user/", { headers: { authorization: bearer(apiKey) } }, SHORT)).response.status;
    expect(await use()).toBe(200);
    // Revoked behind this isolate's back, as another isolate's revoke would be.
    await env.DB.prepare("DELETE FROM api_keys WHERE id = ?").bind(uuid).run();
    await sleep(500);
    expect(await use()).toBe(200); // within the bound: still the cached answer
    await sleep(600);
    // 1.1 s after the read: refused, although the key was used in between.
    expect(await use()).toBe(401);
  });
});
