// Starts keyward on loopback the way `npm start` does, in its own local D1 state directory,
// for scripts that need a real server (benchmarks, the README check). Node 20, no deps.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

export async function startKeyward() {
  const state = mkdtempSync(join(tmpdir(), "keyward-"));
  const port = await freePort();
  const wrangler = join("node_modules", ".bin", "wrangler");
  const migrate = spawnSync(wrangler, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", state], {
    encoding: "utf8",
    env: { ...process.env, CI: "true" },
  });
  if (migrate.status !== 0) throw new Error(`migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  const child = spawn(
    wrangler,
    [
      "dev",
      "--var",
      "KEYWARD_ENV:development",
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      state,
      "--log-level",
      "error",
    ],
    { stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
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
      const response = await fetch(`${url}/healthz`);
      if (response.ok) break;
    } catch {}
    if (Date.now() > deadline || child.exitCode !== null) {
      stop();
      throw new Error(`keyward did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  function stop() {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    rmSync(state, { recursive: true, force: true });
  }
  return { url, state, stop };
}
