// npm run bench: requests/s and latency of authenticated calls and /v2/auth (API key, password,
// anonymous) beside a trivial endpoint and a one-read endpoint, in one run against a local `wrangler dev`. Figures are only
// comparable within one run: read the ratios.
import autocannon from "autocannon";
import { startKeyward } from "./dev-server.mjs";

const DURATION = Number(process.env.BENCH_SECONDS ?? 8);
const ADMIN = `Basic ${Buffer.from("admin:keyward-dev-password").toString("base64")}`;

async function post(url, path, auth, body) {
  const response = await fetch(url + path, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function run(url, path, headers, connections) {
  return new Promise((resolve, reject) => {
    autocannon({ url: url + path, headers, connections, duration: DURATION }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
  });
}

const server = await startKeyward();
try {
  const user = await post(server.url, "/api/v1/superuser/users", ADMIN, { username: "bench", password: "bench-password" });
  const key = await post(server.url, "/v2/_zot/ext/apikey", `Basic ${Buffer.from("bench:bench-password").toString("base64")}`, {
    label: "bench",
  });
  const cases = [
    ["plain     GET /healthz", "/healthz", {}, 10],
    ["one D1 read GET /readyz", "/readyz", {}, 10],
    ["api key   GET /api/v1/user/", "/api/v1/user/", { authorization: `Bearer ${key.apiKey}` }, 10],
    [
      "api key   GET /v2/auth",
      "/v2/auth?service=registry.local&scope=repository:bench/app:pull,push",
      { authorization: `Basic ${Buffer.from(`bench:${key.apiKey}`).toString("base64")}` },
      10,
    ],
    ["anonymous GET /v2/auth", "/v2/auth?service=registry.local&scope=repository:library/alpine:pull", {}, 10],
    [
      "password  GET /api/v1/user/",
      "/api/v1/user/",
      { authorization: `Basic ${Buffer.from(`${user.username}:bench-password`).toString("base64")}` },
      2,
    ],
  ];
  const results = [];
  for (const [name, path, headers, connections] of cases) {
    const r = await run(server.url, path, headers, connections);
    const bad = r.non2xx + r.errors;
    results.push({ name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, bad });
  }
  const base = results[0].rps;
  console.log(`\n${DURATION}s per case, one run, this machine:`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(30)} ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${String(r.p50).padStart(4)} ms  p99 ${String(r.p99).padStart(4)} ms  ratio ${(r.rps / base).toFixed(2)}${r.bad ? `  (${r.bad} non-2xx/errors!)` : ""}`,
    );
  }
} finally {
  server.stop();
}
