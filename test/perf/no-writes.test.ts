import { beforeAll, describe, expect, it } from "vitest";
import { basic, bearer, createUser, type TestUser, uniqueIp } from "../helpers";
import { keyOf, refreshToken, registryToken, SERVICE } from "../oauth/support";
import { Browser } from "../sessions/support";
import { form, send } from "./support";

/*
 * Issue 11 item 3: a successful request's path writes nothing to D1 — no attempt counter, no
 * lastUsed (coalesced to one write a minute and deferred), no lastLogin — and reads in one
 * round trip. Each case is sent twice from one address: the first may do the deferred,
 * coalesced bookkeeping; the second must do none.
 */

let alice: TestUser;
beforeAll(async () => {
  alice = await createUser();
});

async function twice(path: string, init: Parameters<typeof send>[1]) {
  const ip = uniqueIp();
  const withIp = { ...init, headers: { ...init?.headers, "cf-connecting-ip": ip } };
  expect((await send(path, withIp)).response.status).toBe(200);
  const second = await send(path, withIp);
  expect(second.response.status, await second.response.clone().text()).toBe(200);
  return second;
}

describe("a successful request writes nothing and reads once", () => {
  it.each([
    [
      "an API key (Bearer) at GET /api/v1/user/",
      async () => ["/api/v1/user/", { headers: { authorization: bearer((await keyOf(alice)).apiKey) } }],
    ],
    [
      "an API key at /v2/auth",
      async () => {
        const { apiKey } = await keyOf(alice);
        return [
          `/v2/auth?service=${SERVICE}&scope=repository:${alice.username}/app:pull`,
          { headers: { authorization: basic(alice.username, apiKey) } },
        ];
      },
    ],
    [
      "a registry token at /v2/auth",
      async () => {
        const robot = await registryToken();
        return [
          `/v2/auth?service=${robot.service}&scope=repository:ci/app:pull`,
          { headers: { authorization: basic(robot.name, robot.password) } },
        ];
      },
    ],
    [
      "a refresh token grant (POST /v2/auth)",
      async () => {
        const token = await refreshToken(alice.username, (await keyOf(alice)).apiKey);
        return ["/v2/auth", form({ grant_type: "refresh_token", refresh_token: token, service: SERVICE })];
      },
    ],
    [
      "a repeated password at /v2/auth (remembered after the first)",
      async () => [
        `/v2/auth?service=${SERVICE}&scope=repository:${alice.username}/app:pull`,
        { headers: { authorization: alice.auth } },
      ],
    ],
    ["a repeated password at GET /api/v1/user/", async () => ["/api/v1/user/", { headers: { authorization: alice.auth } }]],
  ] as const)("%s", async (_, make) => {
    const [path, init] = (await make()) as [string, RequestInit & { headers?: Record<string, string> }];
    const second = await twice(path, init);
    expect(second.writes).toBe(0);
    expect(second.roundTrips).toBe(1);
  });

  it("a session cookie at GET /api/v1/user/", async () => {
    const user = await createUser();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const session = `__Host-keyward_session=${browser.session}`;
    const second = await twice("/api/v1/user/", { headers: { cookie: session } });
    expect(second.writes).toBe(0);
    expect(second.roundTrips).toBe(1);
  });
});

describe("what still writes", () => {
  it("a failure counts the attempt", async () => {
    const { writes } = await send("/api/v1/user/", { headers: { authorization: basic(alice.username, "wrong-password") } });
    expect(writes).toBeGreaterThan(0);
  });
});
