import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { basic, call, createKey, createUser, json } from "../helpers";
import { postToken } from "./support";

/* Findings of the second adversarial pass, each as the attacker tried it; each failed before its fix. */

describe("round 2, finding 1: a scoped key revokes only the refresh tokens it minted", () => {
  it("cannot revoke a password-minted (full-rights) refresh token: 403; can revoke its own", async () => {
    const alice = await createUser();
    const narrow = await createKey(alice, { label: "narrow", scopes: [`${alice.username}/app/*`] });
    const auth = basic(alice.username, narrow.apiKey);
    const mint = (password: string) =>
      postToken({
        grant_type: "password",
        username: alice.username,
        password,
        service: "registry.local",
        access_type: "offline",
      });
    await json(await mint(alice.password), 200);
    await json(await mint(narrow.apiKey), 200);
    const listed = (await json(await call("/api/v1/user/refresh-tokens", { auth: alice.auth }), 200)).refreshTokens;
    const wide = listed.find((t: any) => t.via === "password");
    const own = listed.find((t: any) => t.parentId === narrow.uuid);
    expect((await call(`/api/v1/user/refresh-tokens/${wide.id}`, { method: "DELETE", auth })).status).toBe(403);
    expect((await call(`/api/v1/user/refresh-tokens/${own.id}`, { method: "DELETE", auth })).status).toBe(204);
    expect(
      (await json(await call("/api/v1/user/refresh-tokens", { auth: alice.auth }), 200)).refreshTokens.map((t: any) => t.id),
    ).toEqual([wide.id]);
  });
});

describe("round 2, finding 3: text stored for display is printable", () => {
  it.each([
    ["a right-to-left override", "a\u202eb"],
    ["a control character", "a\u0001b"],
  ])("client_id with %s is a 400 and mints nothing", async (_name, clientId) => {
    const bob = await createUser();
    const res = await postToken({
      grant_type: "password",
      username: bob.username,
      password: bob.password,
      service: "registry.local",
      access_type: "offline",
      client_id: clientId,
    });
    expect(res.status).toBe(400);
    expect((await json(await call("/api/v1/user/refresh-tokens", { auth: bob.auth }), 200)).refreshTokens).toEqual([]);
  });

  it.each(["\u200e", "\u200f", "\u061c", "\u2028", "\ufeff", "\u00ad", "\uffff"])("a label with U+%s is a 400", async (ch) => {
    const carol = await createUser();
    const res = await call("/v2/_zot/ext/apikey", { method: "POST", auth: carol.auth, json: { label: `a${ch}b` } });
    expect(res.status).toBe(400);
  });

  it("a User-Agent's unprintable characters are dropped from creatorUa", async () => {
    const dave = await createUser();
    const res = await call("/v2/_zot/ext/apikey", {
      method: "POST",
      auth: dave.auth,
      json: { label: "ua" },
      headers: { "user-agent": "evil\u202eUA\u0001/1.0" },
    });
    expect((await json(res, 201)).creatorUa).toBe("evilUA/1.0");
    const stored = await env.DB.prepare(
      "SELECT creator_ua AS ua FROM api_keys WHERE label = 'ua' AND user_id = (SELECT id FROM users WHERE username = ?)",
    )
      .bind(dave.username)
      .first<{ ua: string }>();
    expect(stored!.ua).toBe("evilUA/1.0");
  });
});
