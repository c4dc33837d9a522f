// npm run bench:tokens: listing cost with 100,000 tokens in one registry, against a local
// `wrangler dev`: first page, deep offsets, and the keyset (`after`) extension. One run; read
// the ratios, not the milliseconds.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { startKeyward } from "./dev-server.mjs";

const TOKENS = Number(process.env.BENCH_TOKENS ?? 100_000);
const ROUNDS = 20;
const adminPassword = `Basic ${Buffer.from("admin:keyward-dev-password").toString("base64")}`;

const server = await startKeyward();
try {
  // An API key, not the password: scrypt would dominate every request.
  const key = await (
    await fetch(`${server.url}/v2/_zot/ext/apikey`, {
      method: "POST",
      headers: { authorization: adminPassword },
      body: '{"label":"bench"}',
    })
  ).json();
  const auth = `Bearer ${key.apiKey}`;
  const created = await fetch(`${server.url}/registries`, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json" },
    body: JSON.stringify({ properties: { name: "bench" } }),
  });
  const registry = await created.json();
  const sql = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${TOKENS})
    INSERT INTO registry_tokens (id, registry_id, name, secret_hash, pepper_version, scopes, status, created_at, created_by, created_by_user_id)
    SELECT lower(hex(randomblob(16))), '${registry.id}', printf('tok-%07d', i), lower(hex(randomblob(32))), 1, '[]', 'enabled',
      ${Date.now()}, 'admin', (SELECT id FROM users WHERE username = 'admin') FROM n`;
  const insert = spawnSync(
    join("node_modules", ".bin", "wrangler"),
    ["d1", "execute", "DB", "--local", "--persist-to", server.state, "--command", sql],
    {
      encoding: "utf8",
      env: { ...process.env, CI: "true" },
    },
  );
  if (insert.status !== 0) throw new Error(insert.stderr || insert.stdout);

  async function timed(query) {
    const url = `${server.url}/registries/${registry.id}/tokens${query}`;
    await fetch(url, { headers: { authorization: auth } }); // warm
    const start = performance.now();
    let body;
    for (let i = 0; i < ROUNDS; i++) body = await (await fetch(url, { headers: { authorization: auth } })).json();
    return { ms: (performance.now() - start) / ROUNDS, count: body.count, total: body.total };
  }
  const cases = [
    ["offset 0, limit 100", "?offset=0&limit=100"],
    ["offset 50,000, limit 100", "?offset=50000&limit=100"],
    [`offset ${TOKENS - 100}, limit 100`, `?offset=${TOKENS - 100}&limit=100`],
    ["after tok-0050000, limit 100 (keyset)", "?after=tok-0050000&limit=100"],
    [
      `after tok-${String(TOKENS - 100).padStart(7, "0")}, limit 100 (keyset)`,
      `?after=tok-${String(TOKENS - 100).padStart(7, "0")}&limit=100`,
    ],
  ];
  const results = [];
  for (const [name, query] of cases) results.push({ name, ...(await timed(query)) });
  console.log(`\n${TOKENS} tokens in one registry, ${ROUNDS} requests per case, one run:`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(42)} ${r.ms.toFixed(1).padStart(7)} ms/request  ratio ${(r.ms / results[0].ms).toFixed(2)}  (count ${r.count}, total ${r.total})`,
    );
  }
} finally {
  server.stop();
}
