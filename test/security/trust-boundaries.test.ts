import { describe, expect, it } from "vitest";
import { generateSecret } from "../../src/crypto/secrets";
import {
  ACCEPTED,
  accepts,
  type Boundary,
  type DeprecatedSecretAction,
  deprecatedSecretMay,
  keyserverJwtRefusal,
  mayIntrospect,
  type PresentedKind,
  presentedKind,
  reservedNames,
} from "../../src/domain/trust";
import { basic, bearer, call, createKey, createUser, json, uniqueIp } from "../helpers";
import { keyOf } from "../oauth/support";
import { rotateKey } from "../rotation/support";
import { postToken, registryWithToken } from "./support";

/*
 * The written-down trust boundaries (src/domain/trust.ts), pinned as a table, and each row
 * tried against the running Worker: which credential kinds each place accepts.
 */

const config = { issuer: "keyward", audience: "keyward" };

describe("the table", () => {
  it.each<[Boundary, PresentedKind, boolean]>([
    ["api", "password", true],
    ["api", "api_key", true],
    ["api", "registry_token", false],
    ["api", "refresh_token", false],
    ["api", "access_token", false],
    ["rpc", "api_key", true],
    ["rpc", "password", false],
    ["rpc", "registry_token", false],
    ["rpc", "refresh_token", false],
    ["rpc", "access_token", false],
    ["v2auth", "password", true],
    ["v2auth", "api_key", true],
    ["v2auth", "registry_token", true],
    ["v2auth", "refresh_token", false],
    ["v2auth", "access_token", false],
    ["v2auth_refresh", "refresh_token", true],
    ["v2auth_refresh", "password", false],
    ["v2auth_refresh", "api_key", false],
    ["v2auth_refresh", "registry_token", false],
    ["v2auth_refresh", "access_token", false],
  ])("%s accepts %s: %s", (boundary, kind, expected) => {
    expect(accepts(boundary, kind)).toBe(expected);
  });

  it("no boundary accepts keyward's own access tokens", () => {
    for (const kinds of Object.values(ACCEPTED)) expect(kinds).not.toContain("access_token");
  });

  it.each<[string, PresentedKind | null]>([
    [generateSecret("zak"), "api_key"],
    [generateSecret("krt"), "registry_token"],
    [generateSecret("krf"), "refresh_token"],
    [`zak_${"A".repeat(38)}`, null],
    ["eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "access_token"],
    ["correct horse battery staple", "password"],
  ])("presentedKind(%s) = %s", (value, kind) => {
    expect(presentedKind(value)).toBe(kind);
  });

  it.each<[string, { typ?: string }, { iss?: string; jti?: string }, string, string | null]>([
    ["a plain service JWT", { typ: "JWT" }, { iss: "svc", jti: "1" }, "svc", null],
    ["no typ", {}, { iss: "svc", jti: "1" }, "svc", null],
    ["keyward's at+jwt", { typ: "at+jwt" }, { iss: "svc", jti: "1" }, "svc", "typ"],
    ["keyward's issuer", { typ: "JWT" }, { iss: "keyward", jti: "1" }, "svc", "issued by keyward"],
    ["no jti", { typ: "JWT" }, { iss: "svc" }, "svc", "jti"],
    ["keyward's own service", { typ: "JWT" }, { iss: "keyward", jti: "1" }, "keyward", "managed by keyward alone"],
  ])("keyserver: %s", (_name, header, claims, service, refusal) => {
    const answer = keyserverJwtRefusal(header, claims, service, config);
    if (refusal === null) expect(answer).toBeNull();
    else expect(answer).toContain(refusal);
  });

  it.each<[DeprecatedSecretAction, boolean]>([
    ["authenticate", true],
    ["mint_token", true],
    ["create_key", false],
    ["rotate", false],
    ["end_old_secret", true],
  ])("a rotated credential's old secret may %s: %s", (action, expected) => {
    expect(deprecatedSecretMay(action)).toBe(expected);
  });

  it("reserves keyward's own names", () => {
    expect([...reservedNames({ issuer: "https://auth.example", audience: "auth.example" })].sort()).toEqual(
      ["auth.example", "https://auth.example", "keyward"].sort(),
    );
  });
});

describe("the table, against the running Worker", () => {
  it("keyward's APIs take a password or an API key, nothing else", async () => {
    const user = await createUser();
    const { apiKey } = await createKey(user);
    const robot = await registryWithToken([{ type: "repository", name: "ci/*", actions: ["pull"] }]);
    const refresh = (
      await json(
        await postToken({
          grant_type: "password",
          username: user.username,
          password: user.password,
          service: "registry.local",
          access_type: "offline",
        }),
        200,
      )
    ).refresh_token;
    const accessToken = (
      await json(
        await call("/v2/auth?service=registry.local", { auth: user.auth, headers: { "cf-connecting-ip": uniqueIp() } }),
        200,
      )
    ).token;
    const me = (auth: string) => call("/api/v1/user/", { auth, headers: { "cf-connecting-ip": uniqueIp() } });
    expect((await me(user.auth)).status).toBe(200);
    expect((await me(`Bearer ${apiKey}`)).status).toBe(200);
    expect((await me(basic(robot.name, robot.password))).status).toBe(401);
    expect((await me(`Bearer ${robot.password}`)).status).toBe(401);
    expect((await me(`Bearer ${refresh}`)).status).toBe(401);
    expect((await me(`Bearer ${accessToken}`)).status).toBe(401);
    const body = await json(await me(`Bearer ${accessToken}`), 401);
    expect(body.error.message).toContain("authenticate nothing at keyward");
  });

  it("/v2/auth Basic takes no refresh token and no access token", async () => {
    const user = await createUser();
    const refresh = (
      await json(
        await postToken({
          grant_type: "password",
          username: user.username,
          password: user.password,
          service: "registry.local",
          access_type: "offline",
        }),
        200,
      )
    ).refresh_token;
    const res = await call("/v2/auth?service=registry.local", {
      auth: basic(user.username, refresh),
      headers: { "cf-connecting-ip": uniqueIp() },
    });
    expect(res.status).toBe(401);
    const grant = await postToken({
      grant_type: "password",
      username: user.username,
      password: refresh,
      service: "registry.local",
    });
    expect(grant.status).toBe(401);
  });

  it("a registry token used for another registry's service says so, without naming it", async () => {
    const robot = await registryWithToken([{ type: "repository", name: "ci/*", actions: ["pull"] }]);
    const res = await call("/v2/auth?service=registry.local", {
      auth: basic(robot.name, robot.password),
      headers: { "cf-connecting-ip": uniqueIp() },
    });
    const body = await json(res, 401);
    expect(body.errors[0].message).toBe("This credential belongs to another registry's service");
    expect(body.errors[0].message).not.toContain(robot.service);
  });
});

describe("a rotated key's old secret, against the running Worker", () => {
  it("authenticates as its key until the sunset, mints nothing outliving it, creates and rotates nothing", async () => {
    const user = await createUser();
    const key = await keyOf(user, { label: "ci" });
    const rotated = await rotateKey(user.auth, key.uuid, 600);
    const sunset = Date.parse(rotated.deprecatedSecrets[0].sunsetAt);
    const old = (path: string, init: { method?: string; json?: unknown } = {}) =>
      call(path, { ...init, auth: bearer(key.apiKey), headers: { "cf-connecting-ip": uniqueIp() } });

    expect((await old("/api/v1/user/")).status).toBe(200);
    const made = await old("/api/v1/user/apikeys", { method: "POST", json: { description: "child", lifetime: -1 } });
    expect((await json(made, 403)).error.message).toContain("cannot create keys");
    const again = await old(`/api/v1/user/apikeys/${key.uuid}/rotate`, { method: "POST", json: { gracePeriodSeconds: 0 } });
    expect((await json(again, 403)).error.message).toContain("cannot rotate");

    const grant = await postToken({
      grant_type: "password",
      username: user.username,
      password: key.apiKey,
      service: "registry.local",
      access_type: "offline",
    });
    const body = await json(grant, 200);
    expect(body.expires_in * 1000 + Date.now()).toBeLessThanOrEqual(sunset + 2000);
    expect(body.refresh_token).toMatch(/^krf_/);
  });
});

describe("introspection's visibility (mayIntrospect)", () => {
  type Caller = Parameters<typeof mayIntrospect>[0];
  const as = (superuser: boolean, lineage: Caller["lineage"]): Caller => ({
    user: { id: "u-alice", username: "alice", superuser } as Caller["user"],
    lineage,
  });
  type Lineage = Caller["lineage"];
  const password: Lineage = { kind: "password" };
  const scoped: Lineage = { kind: "api_key", id: "k", scopes: ["alice/a"], expiresAt: null };
  const expiring: Lineage = { kind: "api_key", id: "k", scopes: null, expiresAt: new Date(Date.now() + 60_000) };
  const session: Lineage = { kind: "session", id: "s", signedInAt: new Date() };

  it.each<[string, Caller, Parameters<typeof mayIntrospect>[1], boolean]>([
    ["a user, their own credential", as(false, password), { userId: "u-alice" }, true],
    ["a user, someone else's credential", as(false, password), { userId: "u-bob" }, false],
    ["a user's scoped key, their own credential", as(false, scoped), { userId: "u-alice" }, true],
    ["a user, an ownerless (anonymous) access token", as(false, password), { userId: "" }, false],
    ["a superuser by password, anyone's", as(true, password), { userId: "u-bob" }, true],
    ["a superuser's session, anyone's", as(true, session), { userId: "u-bob" }, true],
    ["a superuser's scoped key, someone else's", as(true, scoped), { userId: "u-bob" }, false],
    ["a superuser's expiring key, someone else's", as(true, expiring), { userId: "u-bob" }, false],
    ["a superuser by password, an anonymous access token", as(true, password), { userId: "" }, true],
    ["a superuser's scoped key, their own", as(true, scoped), { userId: "u-alice" }, true],
  ])("%s: %s", (_, caller, owner, expected) => {
    expect(mayIntrospect(caller, owner)).toBe(expected);
  });
});
