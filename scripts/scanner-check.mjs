// npm run test:scanner: the repository's .secretlintrc.json against a real keyward secret, end to
// end. Starts a fresh local keyward (as `npm start` runs it), makes a real API key for the dev
// superuser, writes it into a shell snippet in a temp dir beside look-alikes that are not keyward
// secrets, and runs the real secretlint CLI over it: exactly the real key must be reported. Then
// reports what secretlint found to POST /credentials/revoke (the public leak-report endpoint, no
// Authorization header) and checks that the key, which worked before, is refused after.
// Prints ok/FAIL per check and a closing "N passed, N failed" line; exits 1 if any failed.
// Node 20, no deps beyond the project's own.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startKeyward } from "./dev-server.mjs";

// The dev superuser `npm start` creates (README quick start; KEYWARD_ADMIN_USER/PASSWORD defaults).
const ADMIN = "admin";
const ADMIN_PASSWORD = "keyward-dev-password";
const SECRETLINT = resolve("node_modules", ".bin", "secretlint");
const SECRETLINTRC = resolve(".secretlintrc.json");
const SECRET = /^zak_[0-9A-Za-z]{38}$/;

let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
  if (ok) passed++;
  else {
    failed++;
    if (detail !== undefined) console.log(`     ${detail}`);
  }
  return ok;
}

/** A shell snippet with one real key and look-alikes the published regex must not match. */
function fixture(apiKey) {
  // Built here rather than written out, so this file itself holds nothing secret-shaped.
  const body37 = "A1b2C3d4E5".repeat(4).slice(0, 37);
  const body39 = "F6g7H8i9J0".repeat(4).slice(0, 39);
  return [
    "#!/bin/sh",
    "# Deploy the demo service.",
    "# Put your own key here: export KEYWARD_KEY=zak_<your-key-here>",
    `export KEYWARD_KEY=${apiKey}`,
    `# An example from the docs, one character short: zak_${body37}`,
    `# One character too long: zak_${body39}`,
    `# Inside a longer word: xzak_${body37}Z`,
    `# Another prefix: zzk_${body37}Z`,
    'REGISTRY="registry.example"',
    'curl -fsS -H "Authorization: Bearer $KEYWARD_KEY" "https://keyward.example/api/v1/user/"',
    "",
  ].join("\n");
}

function getUser(url, apiKey) {
  return fetch(`${url}/api/v1/user/`, { headers: { authorization: `Bearer ${apiKey}` } });
}

const work = mkdtempSync(join(tmpdir(), "keyward-scan-"));
let server;
try {
  server = await startKeyward();
  const { url } = server;

  // A real API key for the dev superuser, from zot's API-key endpoint.
  const created = await fetch(`${url}/v2/_zot/ext/apikey`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${ADMIN}:${ADMIN_PASSWORD}`).toString("base64")}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ label: "leak-test" }),
  });
  const apiKey = created.status === 201 ? (await created.json()).apiKey : undefined;
  if (
    !check(
      `POST /v2/_zot/ext/apikey answers 201 with a zak_ key (got ${created.status})`,
      typeof apiKey === "string" && SECRET.test(apiKey),
    )
  )
    throw new Error("no API key, cannot go on");

  let response = await getUser(url, apiKey);
  check(`the new key works: GET /api/v1/user/ is 200 (got ${response.status})`, response.status === 200);

  // secretlint over the fixture, with the repository's config; --no-maskSecrets so the JSON
  // report carries the matched text (masked by default). Run from the fixture's folder, as a
  // user scans their own tree (secretlint 11 refuses files outside its working directory).
  const file = join(work, "deploy.sh");
  const content = fixture(apiKey);
  writeFileSync(file, content);
  const run = spawnSync(
    SECRETLINT,
    ["--secretlintrc", SECRETLINTRC, "--format", "json", "--no-maskSecrets", "--no-color", "--no-glob", "deploy.sh"],
    { encoding: "utf8", timeout: 60_000, cwd: work },
  );
  if (run.error) throw run.error;
  let report;
  try {
    report = JSON.parse(run.stdout);
  } catch {}
  const detail = `exit ${run.status}\n     stdout: ${JSON.stringify(run.stdout)}\n     stderr: ${JSON.stringify(run.stderr)}`;
  check("secretlint exits 1 (a finding) with a JSON report", run.status === 1 && Array.isArray(report), detail);
  const messages = Array.isArray(report) ? report.flatMap((result) => result.messages ?? []) : [];
  const found = messages.map((m) => m.data?.CREDENTIAL);
  check(
    `exactly one finding, in the fixture (got ${messages.length})`,
    messages.length === 1 && report.length === 1 && report[0].filePath === file,
    JSON.stringify(found),
  );
  const [message] = messages;
  check(
    "the finding is the real key, line 4, named by its pattern",
    messages.length === 1 &&
      message.data?.CREDENTIAL === apiKey &&
      content.slice(message.range?.[0], message.range?.[1]) === apiKey &&
      message.loc?.start?.line === 4 &&
      message.data?.PATTERN_NAME === "keyward API key (zak_)",
    JSON.stringify(message),
  );

  // What secretlint reported goes to the public leak-report endpoint, unauthenticated.
  response = await fetch(`${url}/credentials/revoke`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ credentials: found }),
  });
  check(`POST /credentials/revoke with the finding answers 202 (got ${response.status})`, response.status === 202);
  response = await getUser(url, apiKey);
  check(`the reported key is refused: GET /api/v1/user/ is 401 (got ${response.status})`, response.status === 401);
} catch (error) {
  check(`the check ran to the end (${error.message})`, false);
} finally {
  server?.stop();
  rmSync(work, { recursive: true, force: true });
}
console.log(`scanner-check: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
