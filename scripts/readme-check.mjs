// npm run check:readme: runs the README's "Try it" block, exactly as written, with bash against
// a fresh local keyward (as `npm start` runs it), and checks what it printed.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startKeyward } from "./dev-server.mjs";

const readme = readFileSync("README.md", "utf8");
const block = /<!-- readme-check:start -->\s*```bash\n([\s\S]*?)```\s*<!-- readme-check:end -->/.exec(readme)?.[1];
if (!block) throw new Error("README has no readme-check block");

const server = await startKeyward();
let failed = false;
try {
  const run = spawnSync("bash", ["-euo", "pipefail", "-c", block], {
    encoding: "utf8",
    env: { ...process.env, KEYWARD: server.url },
    timeout: 120_000,
  });
  const out = run.stdout;
  process.stdout.write(out);
  process.stderr.write(run.stderr);
  const lines = out.trim().split("\n");
  const checks = [
    ["the block exits 0", run.status === 0],
    ["the user is created", /"username":"alice"/.test(lines[0] ?? "")],
    ["a zak_ key is printed once", lines.filter((l) => /^zak_[0-9A-Za-z]{38}$/.test(l)).length === 1],
    ["Basic user:key and Bearer both sign alice in", lines.filter((l) => l.includes('"authenticated_by":"api_key"')).length === 2],
    ["the list has no secret", lines.some((l) => l.startsWith('{"apiKeys":[') && !l.includes("zak_"))],
    ["revoke answers 200", lines.at(-2) === "200"],
    ["the next call with the key answers 401", lines.at(-1) === "401"],
  ];
  // The local D1 files (database, WAL) must hold neither the key nor any password.
  const key = lines.find((l) => /^zak_/.test(l)) ?? "zak_missing";
  const files = readdirSync(server.state, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  const stored = files.map((f) => readFileSync(join(f.parentPath ?? f.path, f.name)).toString("latin1")).join("");
  checks.push(["the local D1 files were found", stored.includes("alice@example.com")]);
  for (const secret of [key, key.slice(4, 30), "alice-password-1", "keyward-dev-password"]) {
    checks.push([`no "${secret.slice(0, 8)}…" in plain text in the local D1 files`, !stored.includes(secret)]);
  }
  for (const [name, ok] of checks) {
    console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
    if (!ok) failed = true;
  }
} finally {
  server.stop();
}
process.exit(failed ? 1 : 0);
