// npm run bench: requests/s and latency of keyward's credential paths beside the physical
// limit, in one run on the same wrangler/workerd: a bare Worker (no D1) and a bare Worker doing
// one D1 read (scripts/bench/), then keyward strict (the default), then keyward in cache mode
// (KEYWARD_VERIFY_CACHE_SECONDS=60). Each server has its own local state in a temp folder and
// runs alone. Figures are only comparable within one run: read the ratios. BENCH_SECONDS per
// case (default 5), after a 1 s warm-up; 8 connections, like the issue's measurement.
import autocannon from "autocannon";
import { startKeyward, startWorker } from "./dev-server.mjs";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 8;
const basic = (user, secret) => `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
const ADMIN = basic("admin", "keyward-dev-password");
const PASSWORD = "bench-password-0123";

async function request(url, path, { method = "POST", auth, json, form } = {}) {
  const headers = { authorization: auth };
  let body;
  if (json) [headers["content-type"], body] = ["application/json", JSON.stringify(json)];
  if (form) [headers["content-type"], body] = ["application/x-www-form-urlencoded", new URLSearchParams(form).toString()];
  const response = await fetch(url + path, { method, headers, body });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function load(url, { path, method = "GET", headers = {}, body }, duration) {
  return new Promise((resolve, reject) => {
    autocannon({ url: url + path, method, headers, body, connections: CONNECTIONS, duration }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
  });
}

const results = [];
async function measure(name, url, target) {
  await load(url, target, 1); // warm-up: isolate, caches, the signing key
  const r = await load(url, target, SECONDS);
  results.push({ name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors });
}

async function withServer(start, run) {
  const server = await start();
  try {
    await run(server.url);
  } finally {
    await server.stop();
  }
}

/**
 * A user with a password and an API key, a registry with a robot token, and a refresh token.
 * Only three requests run the password KDF (admin's key, the user's key, the refresh token);
 * everything else is done with API keys.
 */
async function setUp(url) {
  const admin = await request(url, "/v2/_zot/ext/apikey", { auth: ADMIN, json: { label: "bench-admin" } });
  const adminKey = `Bearer ${admin.apiKey}`;
  await request(url, "/api/v1/superuser/users", { auth: adminKey, json: { username: "bench", password: PASSWORD } });
  const key = (await request(url, "/v2/_zot/ext/apikey", { auth: basic("bench", PASSWORD), json: { label: "bench" } })).apiKey;
  const registry = await request(url, "/registries", {
    auth: adminKey,
    json: { properties: { name: "bench", hostname: "bench.registry.local" } },
  });
  const token = await request(url, `/registries/${registry.id}/tokens`, {
    auth: adminKey,
    json: {
      properties: { name: "bench-robot", scopes: [{ type: "repository", name: "ci/*", actions: ["pull", "push"] }] },
    },
  });
  const refresh = await request(url, "/v2/auth", {
    form: { grant_type: "password", username: "bench", password: PASSWORD, service: "registry.local", access_type: "offline" },
  });
  return { key, robot: token.properties.credentials.password, refreshToken: refresh.refresh_token };
}

function keywardCases({ key, robot, refreshToken }) {
  const v2auth = (service, scope) => `/v2/auth?service=${service}&scope=${scope}`;
  return {
    healthz: { path: "/healthz" },
    apiKey: { path: "/api/v1/user/", headers: { authorization: `Bearer ${key}` } },
    v2authKey: {
      path: v2auth("registry.local", "repository:bench/app:pull,push"),
      headers: { authorization: basic("bench", key) },
    },
    v2authRobot: {
      path: v2auth("bench.registry.local", "repository:ci/app:pull,push"),
      headers: { authorization: basic("bench-robot", robot) },
    },
    refresh: {
      path: "/v2/auth",
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: refreshToken,
        service: "registry.local",
      }).toString(),
    },
    password: {
      path: v2auth("registry.local", "repository:bench/app:pull"),
      headers: { authorization: basic("bench", PASSWORD) },
    },
    anonymous: { path: v2auth("registry.local", "repository:library/alpine:pull") },
  };
}

await withServer(
  () => startWorker({ config: "scripts/bench/bare.wrangler.toml", migrate: false, readyPath: "/" }),
  (url) => measure("bare Worker, no D1", url, { path: "/" }),
);
await withServer(
  () => startWorker({ config: "scripts/bench/one-read.wrangler.toml", readyPath: "/" }),
  (url) => measure("bare Worker, one D1 read", url, { path: "/" }),
);
await withServer(startKeyward, async (url) => {
  const c = keywardCases(await setUp(url));
  await measure("strict  GET /healthz", url, c.healthz);
  await measure("strict  API key  GET /api/v1/user/", url, c.apiKey);
  await measure("strict  /v2/auth API key", url, c.v2authKey);
  await measure("strict  /v2/auth registry token", url, c.v2authRobot);
  await measure("strict  /v2/auth refresh (POST)", url, c.refresh);
  await measure("strict  /v2/auth anonymous", url, c.anonymous);
  // Last: while scrypt is the price, requests still in flight when it ends would slow the next case.
  await measure("strict  /v2/auth password", url, c.password);
});
await withServer(
  () => startKeyward({ vars: { KEYWARD_VERIFY_CACHE_SECONDS: "60" } }),
  async (url) => {
    const c = keywardCases(await setUp(url));
    await measure("cache60 API key  GET /api/v1/user/", url, c.apiKey);
    await measure("cache60 /v2/auth API key", url, c.v2authKey);
    await measure("cache60 /v2/auth registry token", url, c.v2authRobot);
  },
);

const [bare, oneRead] = results;
const line = (cells) => cells.map(([text, width]) => (width < 0 ? text.padEnd(-width) : text.padStart(width))).join("  ");
console.log(`\n${SECONDS}s per case, ${CONNECTIONS} connections, one run, this machine; ratios are to the two bare Workers:`);
console.log(
  line([
    ["case", -36],
    ["req/s", 7],
    ["p50 ms", 6],
    ["p99 ms", 6],
    ["non-2xx", 7],
    ["errors", 6],
    ["/bare", 6],
    ["/1-read", 7],
  ]),
);
for (const r of results) {
  console.log(
    line([
      [r.name, -36],
      [r.rps.toFixed(0), 7],
      [String(r.p50), 6],
      [String(r.p99), 6],
      [String(r.non2xx), 7],
      [String(r.errors), 6],
      [(r.rps / bare.rps).toFixed(2), 6],
      [(r.rps / oneRead.rps).toFixed(2), 7],
    ]),
  );
}
const failed = results.filter((r) => r.non2xx > 0 || r.errors > 0);
if (failed.length > 0) {
  console.error(`\nFAILED: non-2xx responses or errors in: ${failed.map((r) => r.name).join(", ")}`);
  process.exit(1);
}
