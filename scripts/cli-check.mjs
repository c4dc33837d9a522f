// npm run test:cli: runs the real keyward-api CLI (node bin/keyward-api.mjs) against a fresh local
// keyward (as `npm start` runs it), with HOME in a temp dir so ~/.config/keyward lands there.
// Prints PASS/FAIL per check; exits 1 if any failed. Node 20, no deps beyond the project's own.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKeyward } from "./dev-server.mjs";

// The dev superuser `npm start` creates (README quick start; KEYWARD_ADMIN_USER/PASSWORD defaults).
const ADMIN = "admin";
const ADMIN_PASSWORD = "keyward-dev-password";
const CLI = join("bin", "keyward-api.mjs");

const home = mkdtempSync(join(tmpdir(), "keyward-cli-home-"));
const configPath = join(home, ".config", "keyward");
let failed = false;

// A hostile or broken server, in its own process (the CLI runs synchronously). Paths pick the
// misbehaviour; each echoes the request id where the reply must pass the id check.
const HOSTILE = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    let id = 0, args = {};
    try { ({ id, args } = JSON.parse(body)); } catch {}
    if (req.url.startsWith("/esc")) { res.writeHead(200); return res.end("\\u001b]0;pwned\\u0007\\u001b[2Jnot json"); }
    if (req.url.startsWith("/deep")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end('{"id":' + id + ',"error":null,"result":' + "[".repeat(200000) + "]".repeat(200000) + "}");
    }
    if (req.url.startsWith("/huge")) {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = "x".repeat(1 << 20);
      let sent = 0;
      const more = () => { while (sent < 20) { sent++; if (!res.write(chunk)) return res.once("drain", more); } res.end(); };
      return more();
    }
    if (req.url.startsWith("/slow")) return;
    if (req.url.startsWith("/echo")) {
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ id, result: { args }, error: null }));
    }
    res.writeHead(404); res.end();
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

async function startHostile() {
  const child = spawn(process.execPath, ["-e", HOSTILE], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(Number(String(d).trim())));
    child.once("error", reject);
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

/** What a hostile server's reply cannot do to the CLI or the terminal. */
async function hostileServerChecks() {
  const hostile = await startHostile();
  const key = `zak_${"0".repeat(37)}x`; // secret-shaped but not a keyward secret (its check digits are wrong)
  try {
    let run = cli("--apihost", `${hostile.url}/esc`, "--apikey", key, "get_user");
    check(
      "a non-JSON reply's terminal escapes are shown, not sent to the terminal",
      run.status === 1 && !run.stderr.includes("\u001b") && run.stderr.includes("\\x1b"),
      run,
    );
    run = cli("--apihost", `${hostile.url}/deep`, "--apikey", key, "get_user");
    check(
      "a reply nested 200,000 deep: exit 1 with a message, no stack trace",
      run.status === 1 && !run.stderr.includes("    at "),
      run,
    );
    run = cli("--apihost", `${hostile.url}/huge`, "--apikey", key, "get_user");
    check("a 20 MiB reply is refused past 16 MiB", run.status === 1 && run.stderr.includes("larger than"), run);
    run = cli("--apihost", `${hostile.url}/slow`, "--apikey", key, "--timeout", "1", "get_user");
    check("a server that never answers: exit 1 after --timeout", run.status === 1 && run.stderr.includes("within 1 s"), run);
    run = cli("--format", "json", "--apihost", `${hostile.url}/echo`, "--apikey", key, "get_user", "__proto__:x", "a:b:c");
    check(
      "an argument named __proto__ is sent like any other; values split at the first ':'",
      run.status === 0 && run.stdout.trim() === '{"args":{"__proto__":"x","a":"b:c"}}',
      run,
    );
    run = cli("--apihost", `${hostile.url}/echo`, "--apikey", key, "get_user", "--apikey=zak_other");
    check(
      "an option after the method is an argument, not an option",
      run.status === 1 && run.stderr.includes("Invalid argument"),
      run,
    );
  } finally {
    hostile.stop();
  }
}

/** Config-file and apihost rules that need no server. */
function localChecks() {
  const target = join(home, "elsewhere.json");
  writeFileSync(target, "{}\n", { mode: 0o644 });
  const link = join(home, "linked-config");
  symlinkSync(target, link);
  let run = cli("--save-config", "--config", link, "--apihost", "http://127.0.0.1:1", "--apikey", "zak_x");
  check(
    "--save-config refuses to write through a symlink, and leaves its target alone",
    run.status === 1 &&
      run.stderr.includes("symlink") &&
      readFileSync(target, "utf8") === "{}\n" &&
      (statSync(target).mode & 0o777) === 0o644,
    run,
  );
  const loose = join(home, "loose-config");
  writeFileSync(loose, JSON.stringify({ apikey: "zak_x", apihost: "http://127.0.0.1:1" }), { mode: 0o644 });
  chmodSync(loose, 0o644);
  run = cli("--config", loose, "get_user");
  check("a config readable by others gets a warning", run.stderr.includes("readable by others"), run);
  run = cli("--apihost", "http://127.0.0.1:1/x?y=1#z", "--apikey", "zak_x", "get_user");
  check("an apihost with a query or fragment is refused", run.status === 1 && run.stderr.includes("no query or fragment"), run);
  run = cli("--apihost", "http://keyward.example:1", "--apikey", "zak_x", "--timeout", "1", "get_user");
  check("a plain-http apihost off loopback gets a warning", run.stderr.includes("over plain http"), run);
}

/** Runs the CLI with HOME=home; returns {status, stdout, stderr}. */
function cli(...args) {
  const run = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    env: { ...process.env, HOME: home },
    timeout: 60_000,
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function check(name, ok, run) {
  console.log(`${ok ? "PASS" : "FAIL"} ${name}`);
  if (!ok) {
    failed = true;
    if (run)
      console.log(
        `     exit ${run.status}\n     stdout: ${JSON.stringify(run.stdout)}\n     stderr: ${JSON.stringify(run.stderr)}`,
      );
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Python's json.dumps(value, sort_keys=True, indent=4), which the pretty format mirrors. */
function sortedJson(value) {
  const sorted = (v) => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === "object")
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sorted(v[k])]),
      );
    return v;
  };
  return JSON.stringify(sorted(value), null, 4);
}

/** A pretty run's lines: `Calling method …`, `Server response`, then the JSON (or ERROR:JSON). */
function pretty(run) {
  const lines = run.stdout.replace(/\n$/, "").split("\n");
  return { calling: lines[0], response: lines[1], body: lines.slice(2).join("\n") };
}

async function closedPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

let server;
try {
  server = await startKeyward();
  const { url } = server;

  // 1. An API key for the dev superuser, from zot's API-key endpoint.
  const created = await fetch(`${url}/zot/auth/apikey`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${ADMIN}:${ADMIN_PASSWORD}`).toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ label: "cli" }),
  });
  const apiKey = created.status === 201 ? (await created.json()).apiKey : undefined;
  check(`POST /zot/auth/apikey answers 201 with a key (got ${created.status})`, typeof apiKey === "string" && apiKey !== "");
  if (typeof apiKey !== "string") throw new Error("no API key, cannot go on");

  let run = cli("--help");
  check(
    "--help exits 0 and lists every option",
    run.status === 0 &&
      ["--apihost", "--apikey", "--config", "--save-config", "--format", "METHOD", "key:value"].every((s) =>
        run.stdout.toUpperCase().includes(s.toUpperCase()),
      ),
    run,
  );

  // 7a. Usage: no config file and no --apikey/--apihost.
  run = cli("get_user");
  check(
    "no config and no params: the kallithea-api message, exit 1",
    run.status === 1 && run.stderr.trim() === "Could not find config file and missing --apikey or --apihost in params",
    run,
  );
  run = cli();
  check(
    "no config, no params, no method: the same message, exit 1",
    run.status === 1 && run.stderr.includes("Could not find config file"),
    run,
  );
  run = cli("--save-config", "--apihost", url);
  check("--save-config without --apikey exits 1 and writes nothing", run.status === 1 && run.stderr.includes("--apikey"), run);

  // 2. --save-config writes ~/.config/keyward, mode 0600; a second run updates it.
  run = cli("--save-config", "--apihost", url, "--apikey", apiKey);
  check(
    `--save-config: "Created new config in ${configPath}", exit 0`,
    run.status === 0 && run.stdout.trim() === `Created new config in ${configPath}`,
    run,
  );
  let mode;
  let saved;
  try {
    mode = statSync(configPath).mode & 0o777;
    saved = parseJson(readFileSync(configPath, "utf8"));
  } catch {}
  check(`the config file has mode 0600 (got ${mode?.toString(8)})`, mode === 0o600);
  check(
    "the config file is {apikey, apihost} JSON",
    saved !== undefined && saved.apikey === apiKey && saved.apihost === url && Object.keys(saved).length === 2,
  );
  run = cli("--save-config", "--apihost", url, "--apikey", apiKey);
  check(
    `a second --save-config: "Updated config in ${configPath}", exit 0`,
    run.status === 0 && run.stdout.trim() === `Updated config in ${configPath}`,
    run,
  );

  // 7b. Usage with a config: no method; an argument without ':'.
  run = cli();
  check(
    "config but no method: Please specify method name, exit 1",
    run.status === 1 && run.stderr.trim() === "Please specify method name",
    run,
  );
  run = cli("get_user", "nocolon");
  check(
    "an argument without ':' is refused, exit 1",
    run.status === 1 && run.stderr.includes('"nocolon"') && run.stderr.includes("key:value"),
    run,
  );

  // 3. get_user with the saved config only, pretty.
  run = cli("get_user");
  let out = pretty(run);
  const user = parseJson(out.body);
  check(
    `get_user (saved config): exit 0, "Calling method get_user => ${url}", "Server response", the user`,
    run.status === 0 &&
      out.calling === `Calling method get_user => ${url}` &&
      out.response === "Server response" &&
      user?.username === ADMIN &&
      out.body.includes(`"username": "${ADMIN}"`),
    run,
  );
  check("get_user pretty: keys sorted, 4-space indent", user !== undefined && out.body === sortedJson(user), run);

  // 4. --format json prints the result object only.
  run = cli("--format", "json", "get_user");
  const result = parseJson(run.stdout);
  check(
    "--format json get_user: exit 0, stdout is the result object only",
    run.status === 0 && result?.username === ADMIN && !Array.isArray(result) && run.stderr === "",
    run,
  );

  // A trailing slash on --apihost is dropped.
  run = cli("--apihost", `${url}/`, "get_user");
  check(
    "--apihost with a trailing slash: same call, slash dropped",
    run.status === 0 &&
      pretty(run).calling === `Calling method get_user => ${url}` &&
      parseJson(pretty(run).body)?.username === ADMIN,
    run,
  );

  // 5. An API error: exit 2, ERROR:<JSON string>.
  run = cli("get_user", "userid:nobody-here");
  out = pretty(run);
  check(
    'get_user userid:nobody-here: exit 2, ERROR:"user `nobody-here` does not exist"',
    run.status === 2 && out.response === "Server response" && out.body === 'ERROR:"user `nobody-here` does not exist"',
    run,
  );
  run = cli("--format", "json", "get_user", "userid:nobody-here");
  check(
    "--format json, API error: exit 2, just the JSON string",
    run.status === 2 && run.stdout === '"user `nobody-here` does not exist"\n',
    run,
  );

  // 6. A bad key: the server's Invalid API key, exit 2.
  run = cli("--apikey", "zak_bad", "get_user");
  out = pretty(run);
  check('--apikey zak_bad: exit 2, ERROR:"Invalid API key"', run.status === 2 && out.body === 'ERROR:"Invalid API key"', run);

  // 8. A value with a colon stays whole (split at the first ':' only); the new key works.
  run = cli("--format", "json", "create_api_key", "description:a:b", "lifetime:5");
  const newKey = parseJson(run.stdout);
  check(
    'create_api_key description:a:b lifetime:5: exit 0, description "a:b", a secret in api_key',
    run.status === 0 && newKey?.description === "a:b" && typeof newKey?.api_key === "string" && newKey.api_key !== "",
    run,
  );
  if (typeof newKey?.api_key === "string") {
    run = cli("--format", "json", "--apikey", newKey.api_key, "get_user");
    check("the created key calls get_user as the same user", run.status === 0 && parseJson(run.stdout)?.username === ADMIN, run);
  }

  // Transport errors: exit 1 with a clear message.
  run = cli("--apihost", `http://127.0.0.1:${await closedPort()}`, "get_user");
  check("connection refused: exit 1, Could not connect", run.status === 1 && run.stderr.includes("Could not connect to"), run);
  run = cli("--apihost", `${url}/no-such-prefix`, "get_user");
  check("HTTP status not 200: exit 1, the status in the message", run.status === 1 && /HTTP 404\b/.test(run.stderr), run);

  await hostileServerChecks();
  localChecks();
} catch (error) {
  check(`the check ran to the end (${error.message})`, false);
} finally {
  server?.stop();
  rmSync(home, { recursive: true, force: true });
}
console.log(failed ? "cli-check: FAILED" : "cli-check: all passed");
process.exit(failed ? 1 : 0);
