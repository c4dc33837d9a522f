// npm run bench:sweep: the */10 cron against a local D1 seeded at scale, run as the Worker runs
// it (`wrangler dev --test-scheduled`, one /__scheduled call per invocation), until nothing
// expired is left. Per run: rows deleted, D1 queries used (from the job.run audit entries) and
// wall time. Beside it the same 100,000 expired keys with no live ones: the cost must follow
// the expired rows, not the table (target: wall-time ratio <= 1.2). Each scenario is seeded
// once and swept BENCH_SWEEP_REPEAT times (default 3) on fresh copies, alternating with the
// other; the ratio is of the medians. Figures are for this machine only.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrateLocal, startKeyward } from "./dev-server.mjs";

const DAY = 86_400_000;
const RETENTION_DAYS = 30; // wrangler.toml's KEYWARD_API_KEY_RETENTION_DAYS
const EXPIRED_KEYS = 100_000;
const EXPIRED_TOKENS = 10_000;
const CHUNK = 100_000; // rows per INSERT statement
const REPEAT = Number(process.env.BENCH_SWEEP_REPEAT ?? 3); // sweeps per scenario, each on a fresh copy of its seed
const SCENARIOS = [
  { name: "100,000 expired among 1,000,000 keys", keys: 1_000_000, tokens: 100_000 },
  { name: "100,000 expired among 100,000 keys", keys: EXPIRED_KEYS, tokens: EXPIRED_TOKENS },
];
const wrangler = join("node_modules", ".bin", "wrangler");
const QUERY_BUDGET = /QUERY_BUDGET = ([\d_]+)/.exec(readFileSync("src/jobs/budget.ts", "utf8"))[1].replaceAll("_", "");

function d1(state, args) {
  const run = spawnSync(wrangler, ["d1", "execute", "DB", "--local", "--persist-to", state, ...args], {
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`d1 execute failed:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

/** Each statement's rows, for a --command of one or more statements. */
function query(state, sql) {
  return JSON.parse(d1(state, ["--json", "--command", sql])).map((r) => r.results);
}

/**
 * One user and one registry for the foreign keys; `keys` API keys of which every (keys /
 * EXPIRED_KEYS)th expired a year ago, interleaved with the live ones (random ids and hashes,
 * like real keys, so the expired rows are spread over every index); the live ones split
 * between recently expired (inside the retention window: kept), expiring later and never.
 * Registry tokens likewise. Recursive CTEs, a chunk per statement.
 */
function seed(state, { keys, tokens }, now) {
  const longAgo = now - 365 * DAY;
  const keyEvery = keys / EXPIRED_KEYS;
  const tokenEvery = tokens / EXPIRED_TOKENS;
  const rows = (count, from, select) =>
    `WITH RECURSIVE n(i) AS (SELECT ${from} UNION ALL SELECT i + 1 FROM n WHERE i < ${from + count - 1}) ${select} FROM n;`;
  const statements = [
    `INSERT INTO users (id, username, enabled, superuser, created_at) VALUES ('bench-sweep-user', 'bench-sweep', 1, 0, ${longAgo});`,
    `INSERT INTO registries (id, name, hostname, owner_id, created_at, created_by)
       VALUES ('bench-sweep-registry', 'bench-sweep', 'bench-sweep.registry.local', 'bench-sweep-user', ${longAgo}, 'bench');`,
  ];
  const keyExpiry = `CASE WHEN i % ${keyEvery} = 0 THEN ${longAgo} + i
    WHEN i % 10 = 1 THEN ${now - 2 * DAY} + i WHEN i % 10 < 6 THEN ${now + 90 * DAY} + i ELSE NULL END`;
  for (let from = 0; from < keys; from += CHUNK) {
    statements.push(
      rows(
        Math.min(CHUNK, keys - from),
        from,
        `INSERT INTO api_keys (id, user_id, kind, label, secret_hash, pepper_version, created_at, expires_at)
         SELECT lower(hex(randomblob(16))), 'bench-sweep-user', 'zot', 'bench-' || i, lower(hex(randomblob(32))), 1,
           ${longAgo - DAY} + i, ${keyExpiry}`,
      ),
    );
  }
  const tokenExpiry = `CASE WHEN i % ${tokenEvery} = 0 THEN ${longAgo} + i WHEN i % 2 = 1 THEN ${now + 90 * DAY} + i ELSE NULL END`;
  for (let from = 0; from < tokens; from += CHUNK) {
    statements.push(
      rows(
        Math.min(CHUNK, tokens - from),
        from,
        `INSERT INTO registry_tokens (id, registry_id, name, secret_hash, pepper_version, scopes, status, expires_at, created_at,
           created_by, created_by_user_id)
         SELECT lower(hex(randomblob(16))), 'bench-sweep-registry', printf('robot-%07d', i), lower(hex(randomblob(32))), 1, '[]',
           'enabled', ${tokenExpiry}, ${longAgo - DAY} + i, 'bench', 'bench-sweep-user'`,
      ),
    );
  }
  const file = join(state, "seed.sql");
  writeFileSync(file, statements.join("\n"));
  d1(state, ["--file", file]);
}

/**
 * One scheduled invocation, on a connection of its own: the d1 execute calls between runs block
 * this process long enough for the server to drop an idle keep-alive connection under fetch.
 */
function scheduled(url) {
  return new Promise((resolve, reject) => {
    get(`${url}/__scheduled?cron=*/10+*+*+*+*`, { agent: false }, (response) => {
      let body = "";
      response.on("data", (d) => {
        body += d;
      });
      response.on("end", () => resolve({ status: response.statusCode, body }));
    }).on("error", reject);
  });
}

function expiredLeft(state, now) {
  const [[keys], [tokens]] = query(
    state,
    `SELECT count(*) AS n FROM api_keys WHERE expires_at < ${now - RETENTION_DAYS * DAY};
     SELECT count(*) AS n FROM registry_tokens WHERE expires_at < ${now};`,
  );
  return { keys: keys.n, tokens: tokens.n };
}

/** A migrated, seeded state directory to copy for each sweep. */
function prepare(scenario) {
  const state = mkdtempSync(join(tmpdir(), "keyward-sweep-seed-"));
  const now = Date.now();
  migrateLocal(state);
  const seeding = performance.now();
  seed(state, scenario, now);
  const left = expiredLeft(state, now);
  if (left.keys !== EXPIRED_KEYS || left.tokens !== EXPIRED_TOKENS) throw new Error(`seeded ${JSON.stringify(left)}`);
  console.log(
    `${scenario.name} (registry tokens: ${EXPIRED_TOKENS.toLocaleString("en")} expired among ` +
      `${scenario.tokens.toLocaleString("en")}): seeded in ${((performance.now() - seeding) / 1000).toFixed(1)} s`,
  );
  return { ...scenario, template: state, now };
}

/** Runs the 10-minute cron on a copy of the scenario's seed until nothing expired is left. */
async function sweep(scenario, repetition) {
  const state = mkdtempSync(join(tmpdir(), "keyward-sweep-"));
  cpSync(scenario.template, state, { recursive: true });
  const server = await startKeyward({ state, args: ["--test-scheduled"] });
  try {
    console.log(`\n${scenario.name}, sweep ${repetition} of ${REPEAT}:`);
    await fetch(`${server.url}/readyz`); // the database is open before the first run is timed
    const runs = [];
    let lastAuditId = query(state, "SELECT coalesce(max(id), 0) AS id FROM audit_log")[0][0].id;
    for (let left = expiredLeft(state, scenario.now); left.keys + left.tokens > 0; left = expiredLeft(state, scenario.now)) {
      if (runs.length >= 30) throw new Error(`still ${JSON.stringify(left)} expired after ${runs.length} runs`);
      const start = performance.now();
      const response = await scheduled(server.url);
      const wall = performance.now() - start;
      if (response.status !== 200) throw new Error(`/__scheduled: ${response.status} ${response.body}`);
      const [entries] = query(
        state,
        `SELECT id, kind, target_id AS job, metadata FROM audit_log
           WHERE kind IN ('job.run', 'job.failed') AND id > ${lastAuditId} ORDER BY id`,
      );
      lastAuditId = entries.at(-1)?.id ?? lastAuditId;
      const failed = entries.filter((e) => e.kind === "job.failed");
      if (failed.length > 0) throw new Error(`jobs failed: ${failed.map((e) => `${e.job} ${e.metadata}`).join("; ")}`);
      const job = (name) => JSON.parse(entries.find((e) => e.job === name)?.metadata ?? "{}");
      // Each job's own statements, plus the insert of its job.run entry.
      const queries = entries.reduce((sum, e) => sum + JSON.parse(e.metadata).queries, 0) + entries.length;
      const run = { keys: job("sweepExpiredApiKeys").deleted, tokens: job("sweepExpiredRegistryTokens").deleted, queries, wall };
      runs.push(run);
      console.log(
        `  run ${runs.length}: deleted ${String(run.keys).padStart(7)} keys, ${String(run.tokens).padStart(6)} tokens; ` +
          `${String(queries).padStart(3)} D1 queries; ${(wall / 1000).toFixed(2)} s`,
      );
    }
    const [[keysLeft], [tokensLeft], [audited]] = query(
      state,
      `SELECT count(*) AS n FROM api_keys; SELECT count(*) AS n FROM registry_tokens;
       SELECT count(*) AS n, count(DISTINCT target_id) AS d FROM audit_log WHERE kind = 'api_key.sweep';`,
    );
    if (keysLeft.n !== scenario.keys - EXPIRED_KEYS || tokensLeft.n !== scenario.tokens - EXPIRED_TOKENS) {
      throw new Error(`left ${keysLeft.n} keys and ${tokensLeft.n} tokens: live rows were deleted`);
    }
    if (audited.n !== EXPIRED_KEYS || audited.d !== EXPIRED_KEYS) throw new Error(`audit: ${JSON.stringify(audited)}`);
    const total = runs.reduce((sum, r) => sum + r.wall, 0);
    console.log(
      `  cleared in ${runs.length} run(s) = ${runs.length * 10} min of */10 cron runs; ${(total / 1000).toFixed(2)} s of ` +
        `wall time; at most ${Math.max(...runs.map((r) => r.queries))} D1 queries in one invocation; live rows untouched, ` +
        "one audit entry per deleted key",
    );
    return total;
  } finally {
    await server.stop();
    rmSync(state, { recursive: true, force: true });
  }
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

console.log(`Query budget: ${QUERY_BUDGET} D1 queries per scheduled invocation (Workers Paid allows 1,000).`);
const scenarios = SCENARIOS.map(prepare);
try {
  const totals = scenarios.map(() => []);
  // Alternating, so that load from elsewhere on the machine falls on both alike.
  for (let repetition = 1; repetition <= REPEAT; repetition++) {
    for (const [i, scenario] of scenarios.entries()) totals[i].push(await sweep(scenario, repetition));
  }
  const [large, small] = totals.map(median);
  console.log(
    `\nmedian wall time to clear (${REPEAT} sweeps each): ${seconds(large)} among 1,000,000 keys, ${seconds(small)} among ` +
      `100,000; ratio ${(large / small).toFixed(2)} (target <= 1.2)`,
  );
} finally {
  for (const scenario of scenarios) rmSync(scenario.template, { recursive: true, force: true });
}
