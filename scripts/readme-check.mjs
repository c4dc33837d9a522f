// npm run check:readme: runs each README block marked readme-check, exactly as written, with
// bash against a fresh local keyward (as `npm start` runs it), and checks what it printed.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startKeyward } from "./dev-server.mjs";

const readme = readFileSync("README.md", "utf8");
const blocks = [...readme.matchAll(/<!-- readme-check:start -->\s*```bash\n([\s\S]*?)```\s*<!-- readme-check:end -->/g)].map(
  (m) => m[1],
);

/** What each block must print, in README order. */
const expectations = [
  (lines) => [
    ["the user is created", /"username":"alice"/.test(lines[0] ?? "")],
    ["a zak_ key is printed once", lines.filter((l) => /^zak_[0-9A-Za-z]{38}$/.test(l)).length === 1],
    [
      "Basic user:key and Bearer both sign alice in",
      lines.filter((l) => l.includes('"authenticated_by":"api_key"')).length === 2,
    ],
    ["the list has no secret", lines.some((l) => l.startsWith('{"apiKeys":[') && !l.includes("zak_"))],
    ["revoke answers 200", lines.at(-2) === "200"],
    ["the next call with the key answers 401", lines.at(-1) === "401"],
  ],
  (lines) => [
    ["sign-in answers Quay's success", lines[0] === '{"success":true}'],
    ["the cookie signs the caller in as a session", lines[1] === '{"username":"admin","authenticated_by":"session"}'],
    ["a change without the CSRF token is refused", lines[2] === '{"error":"CSRF token was invalid or missing."} 403'],
    ["with the token it is made", lines[3] === "extra"],
    ["sign-out answers success", lines[4] === '{"success":true}'],
    ["the old cookie is refused afterwards", lines[5] === "401"],
  ],
  (lines) => [
    [
      "get_user answers alice, with her namespace",
      lines[0] === '{"id":1,"username":"alice","mine":"repository.admin","error":null}',
    ],
    [
      "get_api_keys lists the built-in and the extra key, no secret",
      lines[1] ===
        '[{"kind":"builtin","description":"Built-in","expired":false},{"kind":"extra","description":"nightly mirror","expired":false}]',
    ],
    ["revoke_api_key answers Kallithea-style", /^revoked API key ID:[0-9a-f-]{36}$/.test(lines[2] ?? "")],
    ["the revoked key is an invalid API key", lines[3] === "Invalid API key"],
    ["get_ip answers the caller's address", /^\{"server_ip_addr":"[^"]+","user_ips":\[\]\}$/.test(lines[4] ?? "")],
    [
      "a non-admin's get_users is a clear error, HTTP 200",
      lines[5] === '{"id":7,"result":null,"error":"method `get_users` requires admin rights"} 200',
    ],
    ["an unknown arg is Kallithea's error", lines[6] === "Unknown `a` arg in JSON DATA"],
    ["create_user answers Kallithea's message", lines[7] === "created new user `dave`"],
    ["update_user changes dave", lines[8] === '{"username":"dave","lastname":"Jones","active":false}'],
    ["get_users lists dave, sorted", lines[9] === '["admin","alice","dave"]'],
    ["delete_user answers user null", lines[10] === "null"],
    ["the reset built-in key's old secret is refused", lines[11] === "Invalid API key"],
    ["the new built-in key works", lines[12] === "alice"],
  ],
  (lines) => [
    ["the private key is shown", lines[0] === "-----BEGIN PRIVATE KEY-----"],
    ["approving answers 201", lines[1] === "201"],
    ["the JWKS lists both keys", lines.slice(2, 4).every((l) => /^[A-Za-z0-9_-]{43}$/.test(l))],
    ["one key reads back as EC", /^\{"kty":"EC","crv":"P-256","kid":"[A-Za-z0-9_-]{43}"\}$/.test(lines[4] ?? "")],
    ["the update merges metadata", /"name":"builder-ec","metadata":\{.*"owner":"ci"/.test(lines[5] ?? "")],
    ["delete answers 204", lines[6] === "204"],
    ["certs.pem is a CA certificate", lines.some((l) => /CA:TRUE/.test(l))],
    ["openssl verifies the signing key's leaf against the CA", lines.at(-1) === "keyward-leaf.pem: OK"],
  ],
  (lines) => [
    [
      "the key's refresh token gets nothing outside carol/app",
      lines[0] === '[{"type":"repository","name":"carol/other","actions":[]}]',
    ],
    ["the refresh token is listed as minted by the API key", lines[1] === "api_key"],
    ["revoking it answers 204", lines[2] === "204"],
    ["the revoked refresh token answers 401", lines[3] === "401"],
    ["rotate now answers with the new key", lines[4] === "ES256"],
    ["the list shows the new key active and the old one retiring", /^\["active"(,"retiring")+\]$/.test(lines[5] ?? "")],
  ],
  (lines) => [
    ["the token password is a krt_ secret", lines[0] === "krt_"],
    ["the token logs in at /v2/auth", lines[1] === "true"],
    [
      "page 1 has 2 of 4 tokens and a next link",
      /^\{"count":2,"total":4,"names":\["ci-robot","robot-1"\],"next":"[^"]*offset=2&limit=2"\}$/.test(lines[2] ?? ""),
    ],
    [
      "page 2 has the last 2 and no next link",
      /^\{"count":2,"total":4,"names":\["robot-2","robot-3"\],"next":null\}$/.test(lines[3] ?? ""),
    ],
    ["PATCH disables the token", lines[4] === "disabled"],
    ["the disabled token's next login answers 401", lines[5] === "401"],
  ],
  (lines) => [
    [
      "introspection describes erin's scoped key",
      lines[0] === '{"active":true,"token_type":"api_key","username":"erin","scope":"repository:erin/app:*"}',
    ],
    [
      "an access token introspects with its service and access",
      lines[1] === '{"active":true,"token_type":"access_token","aud":"registry.local","scope":"repository:erin/app:pull"}',
    ],
    ["someone else's key is exactly inactive", lines[2] === '{"active":false}'],
    ["no credentials is a 401 invalid_client", /^\{"error":"invalid_client".* 401$/.test(lines[3] ?? "")],
    ["revocation answers 200", lines[4] === "200"],
    ["the revoked key answers 401", lines[5] === "401"],
    ["an access token is unsupported_token_type", /^\{"error":"unsupported_token_type".* 400$/.test(lines[6] ?? "")],
  ],
  (lines) => [
    [
      "one pattern per prefix",
      lines.slice(0, 4).join(" ") ===
        "zak \\bzak_[0-9A-Za-z]{38}\\b krt \\bkrt_[0-9A-Za-z]{38}\\b krf \\bkrf_[0-9A-Za-z]{38}\\b kss \\bkss_[0-9A-Za-z]{38}\\b",
    ],
    ["the report answers 202", /^\{"message":".*"\} 202$/.test(lines[4] ?? "")],
    ["the reported key answers 401", lines[5] === "401"],
    ["erin's log shows credential.leaked", lines[6] === '{"kind":"credential.leaked","target":"api_key"}'],
  ],
  (lines) => [
    [
      "the rotated key keeps its label, with one old secret",
      lines[0] === '{"label":"deploy bot","deprecated":[{"sunsetAt":true}]}',
    ],
    ["the old secret's answer carries Deprecation and Sunset", lines[1] === "2"],
    ["the new secret works at once", lines[2] === "api_key"],
    ["the listing shows the old secret's last use", /^\[\{"used":true,"lastUsedIp":"[^"]+"\}\]$/.test(lines[3] ?? "")],
    ["ending it early answers 204", lines[4] === "204"],
    ["the ended secret answers 401", lines[5] === "401"],
    ["the rotated token lists its old password with a sunset", lines[6] === "[true]"],
    ["the old password logs in, with Sunset", lines[7] === "1"],
    ["the new password logs in, without", lines[8] === "0"],
  ],
];

if (blocks.length !== expectations.length)
  throw new Error(`README has ${blocks.length} readme-check blocks, expected ${expectations.length}`);

const server = await startKeyward();
let failed = false;
const printed = [];
try {
  for (const [i, block] of blocks.entries()) {
    const dir = mkdtempSync(join(tmpdir(), "keyward-readme-"));
    const run = spawnSync("bash", ["-euo", "pipefail", "-c", block], {
      encoding: "utf8",
      cwd: dir,
      env: { ...process.env, KEYWARD: server.url },
      timeout: 120_000,
    });
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write(run.stdout);
    process.stderr.write(run.stderr);
    printed.push(run.stdout);
    const lines = run.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim());
    for (const [name, ok] of [[`block ${i + 1} exits 0`, run.status === 0], ...expectations[i](lines)]) {
      console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
      if (!ok) failed = true;
    }
  }
  // The local D1 files (database, WAL) must hold neither secret nor password in plain text.
  const key = printed.join("\n").match(/^zak_\S+$/m)?.[0] ?? "zak_missing";
  const files = readdirSync(server.state, { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
  const stored = files.map((f) => readFileSync(join(f.parentPath ?? f.path, f.name)).toString("latin1")).join("");
  const checks = [["the local D1 files were found", stored.includes("alice@example.com")]];
  for (const secret of [key, key.slice(4, 30), "alice-password-1", "keyward-dev-password", "PRIVATE KEY"]) {
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
