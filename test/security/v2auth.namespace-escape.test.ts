import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { adminAuth, basic, call, createKey, json, type TestUser } from "../helpers";
import { granted } from "./support";

/*
 * Defect 4: access was decided on the name minus a "registry host" (a first segment with a dot
 * or colon), but the token carried the full name, which is what the registry checks. Access
 * is now decided on exactly that name, with one grammar (no hosts, no colons).
 */

let alice: TestUser;
let johnDoe: TestUser;

async function userNamed(username: string): Promise<TestUser> {
  const password = `pw-${crypto.randomUUID()}`;
  await json(await call("/api/v1/superuser/users/", { method: "POST", auth: adminAuth(), json: { username, password } }), 200);
  return { username, password, auth: basic(username, password) };
}

beforeAll(async () => {
  alice = await userNamed(`alice${Math.random().toString(36).slice(2, 7)}`);
  johnDoe = await userNamed(`john.doe${Math.random().toString(36).slice(2, 7)}`);
  await json(
    await call("/api/v1/superuser/public-repositories", { method: "POST", auth: adminAuth(), json: { repository: "library/*" } }),
    200,
  );
});

describe("a dotted first segment is a namespace, never a host", () => {
  it("alice's key scoped to alice/a gets nothing on john.doe/alice/a", async () => {
    const { apiKey } = await createKey(alice, { label: "scoped", scopes: [`${alice.username}/a`] });
    const access = await granted(basic(alice.username, apiKey), [`repository:${johnDoe.username}/${alice.username}/a:pull,push`]);
    expect(access[0]!.actions).toEqual([]);
  });

  it("anonymous gets nothing on john.doe/library/secret although library/* is public", async () => {
    const access = await granted(undefined, [
      `repository:${johnDoe.username}/library/secret:pull`,
      "repository:library/alpine:pull",
    ]);
    expect(access.map((e) => e.actions)).toEqual([[], ["pull"]]);
  });

  it("user john.doe owns john.doe/app", async () => {
    const access = await granted(johnDoe.auth, [`repository:${johnDoe.username}/app:pull,push,delete`]);
    expect(access[0]!.actions).toEqual(["pull", "push", "delete"]);
  });

  it.each(["registry.local:5000/library/alpine", "Library/alpine", "a//b", "a/", "-a/b"])(
    "a name outside the grammar (%s) is a 400, not a guess",
    async (name) => {
      const res = await call(`/v2/auth?service=registry.local&scope=${encodeURIComponent(`repository:${name}:pull`)}`);
      expect(res.status).toBe(400);
    },
  );

  it("grants, public repositories, key scopes and IONOS scopes take the same grammar", async () => {
    const bad = "host:5000/app";
    await json(
      await call("/api/v1/superuser/public-repositories", { method: "POST", auth: adminAuth(), json: { repository: bad } }),
      400,
    );
    await json(await call("/v2/_zot/ext/apikey", { method: "POST", auth: alice.auth, json: { label: "x", scopes: [bad] } }), 400);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM public_repositories WHERE pattern = ?")
      .bind(bad)
      .first<{ n: number }>();
    expect(count!.n).toBe(0);
  });
});
