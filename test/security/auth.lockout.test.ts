import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { FAILURE_MEMORY_MS, LIMITS, PAIR_DELAY_MS, REFILL_MS, staleFailuresDelete } from "../../src/services/authFailures";
import { basic, call, createUser, type TestUser, uniqueIp } from "../helpers";

/**
 * Password guessing as an attacker tries it, and what it must not do to the victim: a stranger
 * guessing V's password from his own address must not stop V (or V's CI robot) signing in from
 * another one. The guesser is throttled per (username, address) with a doubling lockout; only
 * a bar no single address can reach (LIMITS.user, over all addresses) throttles the username.
 */

const me = (auth: string, ip: string) => call("/api/v1/user/", { auth, headers: { "cf-connecting-ip": ip } });
const token = (auth: string, ip: string) =>
  call("/v2/auth?service=registry.local", { auth, headers: { "cf-connecting-ip": ip } });
type Endpoint = typeof me;

let guessNo = 0;
const wrong = (victim: TestUser) => basic(victim.username, `guess-${++guessNo}`);

/** Wrong passwords for `victim` from `ip`, one after the other; their statuses. */
async function guess(victim: TestUser, ip: string, times: number, endpoint: Endpoint = me): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i++) statuses.push((await endpoint(wrong(victim), ip)).status);
  return statuses;
}

const retryAfter = (response: Response) => Number(response.headers.get("retry-after"));

interface Counter {
  key: string;
  at: number;
  count: number;
}
const counter = (key: string) =>
  env.DB.prepare("SELECT key, window_start AS at, count FROM auth_failures WHERE key = ?").bind(key).first<Counter>();

/** The counter of a guesser's address against one username, found after it has guessed. */
async function pairOf(ip: string): Promise<{ pair: string; user: string }> {
  const row = await env.DB.prepare("SELECT key FROM auth_failures WHERE key LIKE 'pair:%' AND key LIKE ?")
    .bind(`%:${ip}`)
    .first<{ key: string }>();
  expect(row, "a failure counter for (username, address)").toBeTruthy();
  const userKey = row!.key.slice("pair:".length, -(ip.length + 1));
  return { pair: row!.key, user: `user:${userKey}` };
}

/** The clock runs on for a pair: its last failure becomes `ms` older. */
const age = (key: string, ms: number) =>
  env.DB.prepare("UPDATE auth_failures SET window_start = window_start - ? WHERE key = ?").bind(ms, key).run();

describe("an attacker guessing a victim's password", () => {
  it("does not lock the victim out of another address, at the API or /v2/auth", async () => {
    const victim = await createUser();
    const attacker = uniqueIp();
    const robot = uniqueIp();
    const statuses = [...(await guess(victim, attacker, 12)), ...(await guess(victim, attacker, 6, token))];

    expect((await me(victim.auth, robot)).status).toBe(200);
    expect((await token(victim.auth, robot)).status).toBe(200);
    expect(statuses).toEqual([...Array(LIMITS.pair).fill(401), ...Array(18 - LIMITS.pair).fill(429)]);
  });

  it("is throttled himself after the free attempts, even with the right password, with Retry-After", async () => {
    const victim = await createUser();
    const attacker = uniqueIp();
    expect(await guess(victim, attacker, LIMITS.pair)).toEqual(Array(LIMITS.pair).fill(401));

    for (const endpoint of [me, token]) {
      const response = await endpoint(victim.auth, attacker);
      expect(response.status).toBe(429);
      expect(retryAfter(response)).toBeGreaterThan(0);
      expect(retryAfter(response)).toBeLessThanOrEqual(PAIR_DELAY_MS.first / 1000);
    }
  });

  it("waits twice as long after each further failure, up to the cap: waiting out a lockout buys one guess", async () => {
    const victim = await createUser();
    const attacker = uniqueIp();
    await guess(victim, attacker, LIMITS.pair);
    const waits: number[] = [];
    for (let i = 0; i < 7; i++) {
      const refused = await me(wrong(victim), attacker);
      expect(refused.status).toBe(429);
      waits.push(retryAfter(refused));
      await age((await pairOf(attacker)).pair, retryAfter(refused) * 1000);
      expect((await me(wrong(victim), attacker)).status).toBe(401);
    }
    const expected = waits.map((_, i) => Math.min(PAIR_DELAY_MS.first * 2 ** i, PAIR_DELAY_MS.max) / 1000);
    for (const [i, wait] of waits.entries()) {
      expect(wait).toBeGreaterThan(expected[i]! - 2);
      expect(wait).toBeLessThanOrEqual(expected[i]!);
    }
    expect(PAIR_DELAY_MS.max).toBe(15 * 60_000);
  });

  it("cannot get more than the free attempts through by sending them at once", async () => {
    const victim = await createUser();
    const attacker = uniqueIp();
    const burst = await Promise.all(Array.from({ length: 20 }, () => me(wrong(victim), attacker)));
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s !== 429)).toEqual(Array(LIMITS.pair).fill(401));
    expect((await me(victim.auth, attacker)).status).toBe(429);
  });

  it("counts refused attempts nowhere, so one address cannot push the username towards its bar", async () => {
    const victim = await createUser();
    const attacker = uniqueIp();
    await guess(victim, attacker, 30);
    const { pair, user } = await pairOf(attacker);
    expect((await counter(pair))!.count).toBe(LIMITS.pair);
    expect((await counter(user))!.count).toBe(LIMITS.pair);
    expect((await counter(`client:${attacker}`))!.count).toBe(LIMITS.pair);
  });

  it("is one address across an IPv6 /64, however many of its addresses he uses", async () => {
    const victim = await createUser();
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:77`;
    const statuses: number[] = [];
    for (let i = 1; i <= LIMITS.pair + 3; i++) statuses.push((await me(wrong(victim), `${prefix}::${i.toString(16)}`)).status);
    expect(statuses).toEqual([...Array(LIMITS.pair).fill(401), 429, 429, 429]);
    expect((await me(victim.auth, `${prefix.slice(0, -2)}78::1`)).status).toBe(200);
  });

  it("does not get his failures forgiven when the victim signs in", async () => {
    const victim = await createUser();
    const attackers = [uniqueIp(), uniqueIp(), uniqueIp()];
    for (const ip of attackers) await guess(victim, ip, 2);
    const { user } = await pairOf(attackers[0]!);
    expect((await counter(user))!.count).toBe(6);

    expect((await me(victim.auth, uniqueIp())).status).toBe(200);
    // The victim's attempt was counted up front and is given back after the response.
    await vi.waitFor(async () => expect((await counter(user))?.count).toBe(6));
  });
});

describe("guessing from many addresses", () => {
  it("throttles the username everywhere only at a bar far above one address's free attempts", async () => {
    expect(LIMITS.user).toBeGreaterThanOrEqual(100);
    expect(LIMITS.user).toBeGreaterThanOrEqual(10 * LIMITS.pair);
    const victim = await createUser();
    const robot = uniqueIp();
    const first = uniqueIp();
    expect(await guess(victim, first, 1)).toEqual([401]);
    const { user } = await pairOf(first);
    // Instead of LIMITS.user password checks: the username's bucket as that many failures from
    // other addresses would have left it, less two.
    const held = LIMITS.user - 2;
    await env.DB.prepare("UPDATE auth_failures SET window_start = ?, count = ? WHERE key = ?")
      .bind(Date.now() + held * REFILL_MS.user, held, user)
      .run();

    expect(await guess(victim, uniqueIp(), 1)).toEqual([401]);
    expect((await me(victim.auth, robot)).status).toBe(200);
    await vi.waitFor(async () => expect((await counter(user))?.count).toBe(LIMITS.user - 1));
    expect(await guess(victim, uniqueIp(), 1)).toEqual([401]);

    // The bar is reached: a new address is refused, and so is the victim, right password and all.
    expect(await guess(victim, uniqueIp(), 1)).toEqual([429]);
    const refused = await me(victim.auth, robot);
    expect(refused.status).toBe(429);
    expect(retryAfter(refused)).toBeGreaterThan(0);
    expect(retryAfter(refused)).toBeLessThanOrEqual(REFILL_MS.user / 1000);
  });
});

describe("the stale-counter sweep", () => {
  it("removes only counters past the memory, which a guesser cannot wait out", async () => {
    const victim = await createUser();
    const remembered = uniqueIp();
    const forgotten = uniqueIp();
    await guess(victim, remembered, 1);
    await guess(victim, forgotten, 1);
    const kept = (await pairOf(remembered)).pair;
    const gone = (await pairOf(forgotten)).pair;
    const now = Date.now();
    const set = (key: string, at: number, count: number) =>
      env.DB.prepare("UPDATE auth_failures SET window_start = ?, count = ? WHERE key = ?").bind(at, count, key).run();
    // Both pairs failed 20 times; their lockouts (at most 15 min) are long over.
    await set(kept, now - FAILURE_MEMORY_MS + 60_000, 20);
    await set(gone, now - FAILURE_MEMORY_MS - 1_000, 20);
    await env.DB.prepare("INSERT INTO auth_failures (key, window_start, count) VALUES (?, ?, 3), (?, ?, 3)")
      .bind(`client:drained-${now}`, now - FAILURE_MEMORY_MS - 1_000, `client:filling-${now}`, now + 3 * REFILL_MS.client)
      .run();

    await staleFailuresDelete(env.DB, 1000, now).run();

    expect(await counter(gone)).toBeNull();
    expect(await counter(`client:drained-${now}`)).toBeNull();
    expect(await counter(kept)).toMatchObject({ count: 20 });
    expect(await counter(`client:filling-${now}`)).toMatchObject({ count: 3 });
    // The kept pair still counts: one guess, then the longest lockout. The swept one starts over.
    expect(await guess(victim, remembered, 2)).toEqual([401, 429]);
    expect(await guess(victim, forgotten, 2)).toEqual([401, 401]);
    expect((await counter(kept))!.count).toBe(21);
    expect((await counter(gone))!.count).toBe(2);
  });
});
