// Starts keyward on loopback the way `npm start` does, in its own local D1 state directory,
// for scripts that need a real server (benchmarks, the README check). Node 20, no deps.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const wrangler = join("node_modules", ".bin", "wrangler");

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** The project's D1 migrations, applied to the local database in `state`. */
export function migrateLocal(state, config) {
  const migrate = spawnSync(
    wrangler,
    ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state, ...(config ? ["--config", config] : [])],
    { encoding: "utf8", env: { ...process.env, CI: "true" } },
  );
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
}

/**
 * `wrangler dev` for `config` (default: wrangler.toml, i.e. keyward) on a free loopback port,
 * once `readyPath` answers. Options: `vars` (passed as `--var NAME:value`), `args` (more
 * `wrangler dev` arguments, e.g. `--test-scheduled`), `state` (a local state directory the
 * caller made and removes; by default a new temp one, removed by stop()), `migrate` (apply the
 * D1 migrations first; default true). stop() signals the server and returns a promise of its exit.
 */
export async function startWorker({ config, vars = {}, args = [], state, migrate = true, readyPath = "/healthz" } = {}) {
  const ownState = !state;
  const dir = state ?? mkdtempSync(join(tmpdir(), "keyward-"));
  const port = await freePort();
  const configArgs = config ? ["--config", config] : [];
  if (migrate) migrateLocal(dir, config);
  const varArgs = Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]);
  const child = spawn(
    wrangler,
    [
      "dev",
      ...configArgs,
      ...varArgs,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      dir,
      "--log-level",
      process.env.KEYWARD_DEV_LOG_LEVEL ?? "error",
      ...args,
    ],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const exited = new Promise((resolve) => child.on("exit", resolve));
  let output = "";
  // KEYWARD_DEV_LOG=1 passes wrangler's own output through, for debugging a script's failure.
  const echo = process.env.KEYWARD_DEV_LOG ? (d) => process.stderr.write(d) : () => {};
  child.stdout.on("data", (d) => {
    output += d;
    echo(d);
  });
  child.stderr.on("data", (d) => {
    output += d;
    echo(d);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(url + readyPath);
      if (response.ok) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) {
      stop();
      throw new Error(`${config ?? "keyward"} did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  function stop() {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    if (ownState) rmSync(dir, { recursive: true, force: true });
    return exited;
  }
  return { url, state: dir, stop };
}

/** keyward as `npm start` runs it (development vars), plus any `vars`, `args` or `state`. */
export function startKeyward({ vars = {}, ...options } = {}) {
  return startWorker({ ...options, vars: { KEYWARD_ENV: "development", ...vars } });
}
