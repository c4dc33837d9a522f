// npm run test:interop: proves /v2/auth against real peers. Starts keyward (as npm start does),
// Debian's docker-registry (distribution 2.8) with token auth pointing at keyward, builds a
// small OCI image locally (no network) and drives skopeo through the scenarios below, then
// containerd (Debian's containerd and ctr), which asks for its token by the OAuth2 POST.
// Loopback only; everything started is stopped by PID.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { startKeyward } from "./dev-server.mjs";

const work = mkdtempSync(join(tmpdir(), "keyward-interop-"));
const ADMIN = ["admin", "keyward-dev-password"];
const basic = ([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function api(url, method, path, auth, body) {
  const response = await fetch(url + path, {
    method,
    // A fresh connection each time: the skopeo steps can leave a pooled keep-alive socket idle
    // long enough for the server to close it just as it is reused ("other side closed").
    headers: { authorization: basic(auth), "content-type": "application/json", connection: "close" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function sha256(buffer) {
  return createHash("sha256").update(buffer).digest("hex");
}

/** A one-layer OCI image layout in `dir`, tagged `latest`. */
function buildImage(dir, content) {
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const src = join(work, `layer-src-${sha256(content).slice(0, 8)}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, "hello.txt"), content);
  const tar = spawnSync("tar", ["-C", src, "-cf", "-", "hello.txt"], { maxBuffer: 1 << 24 });
  if (tar.status !== 0) throw new Error("tar failed");
  const layer = gzipSync(tar.stdout);
  const put = (buf) => {
    const digest = sha256(buf);
    writeFileSync(join(blobs, digest), buf);
    return { digest: `sha256:${digest}`, size: buf.length };
  };
  const layerDesc = put(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: {},
      rootfs: { type: "layers", diff_ids: [`sha256:${sha256(tar.stdout)}`] },
    }),
  );
  const configDesc = put(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configDesc },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layerDesc }],
    }),
  );
  const manifestDesc = put(manifest);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifestDesc,
          annotations: { "org.opencontainers.image.ref.name": "latest" },
        },
      ],
    }),
  );
}

const children = [];
function stopAll() {
  for (const child of children) {
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
  }
}
/** Until every child has exited (at most 5 s): containerd still writes to its root under `work`. */
function allExited() {
  const exits = children.map((child) =>
    child.exitCode !== null || child.signalCode !== null ? null : new Promise((r) => child.once("exit", r)),
  );
  return Promise.race([Promise.all(exits), new Promise((r) => setTimeout(r, 5000))]);
}

/**
 * containerd as root with its own root, state directory and socket under `work`, and only what
 * a content fetch needs: no CRI, no runtimes or tasks, no snapshotter but the native one (which
 * the metadata plugin insists on; a fetch never uses it). Content is isolated per namespace, so
 * each scenario's namespace downloads every blob itself.
 */
async function startContainerd() {
  const dir = join(work, "containerd");
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, "containerd.sock");
  const config = join(dir, "config.toml");
  const disabled = [
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.overlayfs",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.runtime.v1.linux",
    "io.containerd.runtime.v2.task",
    "io.containerd.monitor.v1.cgroups",
    "io.containerd.service.v1.tasks-service",
    "io.containerd.grpc.v1.tasks",
    "io.containerd.internal.v1.restart",
    "io.containerd.internal.v1.opt",
  ];
  writeFileSync(
    config,
    [
      "version = 2",
      `root = "${join(dir, "root")}"`,
      `state = "${join(dir, "state")}"`,
      `disabled_plugins = [${disabled.map((p) => `"${p}"`).join(", ")}]`,
      "[grpc]",
      `  address = "${socket}"`,
      "[ttrpc]",
      `  address = "${socket}.ttrpc"`,
      '[plugins."io.containerd.metadata.v1.bolt"]',
      '  content_sharing_policy = "isolated"',
      "",
    ].join("\n"),
  );
  const child = spawn("containerd", ["--config", config, "--log-level", "info"], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.push(child);
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  child.on("error", (err) => (log += `${err}\n`));
  const ctr = (namespace, ...args) =>
    spawnSync("ctr", ["--address", socket, "--namespace", namespace, ...args], { encoding: "utf8", timeout: 120_000 });
  // Ready once its socket answers (ctr would otherwise wait for a socket that never comes).
  for (let i = 0; ; i++) {
    if (existsSync(socket) && ctr("keyward-interop", "--connect-timeout", "2s", "version").status === 0) break;
    if (i > 100 || child.exitCode !== null) throw new Error(`containerd did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ctr, log: () => log };
}

/**
 * The token requests in ctr's --http-dump, e.g. {method: "POST", form, status: 200}. One log line
 * per dumped line, but a body has no line end of its own: the next request or status line can
 * follow it on the same line.
 */
function tokenRequests(dump) {
  const requests = [];
  let current = null;
  for (const line of dump.split("\n")) {
    const request = line.match(/(GET|HEAD|POST|PUT|PATCH|DELETE) (\/\S*) HTTP\/1\.1"?$/);
    if (request) {
      current = { method: request[1], path: request[2], form: "", status: null };
      continue;
    }
    if (!current) continue;
    if (line.includes("grant_type=")) current.form = line;
    const status = line.match(/HTTP\/1\.1 (\d{3})/);
    if (status) {
      current.status = Number(status[1]);
      if (current.path.split("?")[0] === "/v2/auth") requests.push(current);
      current = null;
    }
  }
  return requests;
}

/** ctr's output for a failure report, with its passwords and tokens blanked. */
function redact(text) {
  return text
    .replace(/(password=|--user[= ]\S+?:)[^&\s"]*/g, "$1…")
    .replace(/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, "<jwt>")
    .replace(/\b(zak|krt|krf)_\w+/g, "$1_…");
}

let failed = false;
const keyward = await startKeyward();
try {
  const registryPort = await freePort();
  const registry = `127.0.0.1:${registryPort}`;
  // Accounts: alice (password + API key), bob; public/* is public.
  // The operator scripts with an API key, as robots should: every password sign-in runs scrypt
  // (16 MiB), and a burst of them alongside the skopeo steps can push one isolate past
  // workerd's memory limit (seen as "other side closed" on the next call).
  const adminKey = await api(keyward.url, "POST", "/v2/_zot/ext/apikey", ADMIN, { label: "interop-operator" });
  const OPERATOR = ["admin", adminKey.apiKey];
  await api(keyward.url, "POST", "/api/v1/superuser/users", OPERATOR, { username: "alice", password: "alice-password-1" });
  await api(keyward.url, "POST", "/api/v1/superuser/users", OPERATOR, { username: "bob", password: "bob-password-12" });
  await api(keyward.url, "POST", "/api/v1/superuser/public-repositories", OPERATOR, { repository: "public/*" });
  const key = await api(keyward.url, "POST", "/v2/_zot/ext/apikey", ["alice", "alice-password-1"], { label: "interop" });
  // A key narrowed to alice/a, and user john.doe (a dotted namespace, never a "registry host").
  const scoped = await api(keyward.url, "POST", "/v2/_zot/ext/apikey", ["alice", "alice-password-1"], {
    label: "scoped",
    scopes: ["alice/a"],
  });
  await api(keyward.url, "POST", "/api/v1/superuser/users", OPERATOR, { username: "john.doe", password: "john-password-1" });
  // An IONOS-style registry for this registry's service, and a robot token limited to ci/*.
  const reg = await api(keyward.url, "POST", "/registries", OPERATOR, {
    properties: { name: "interop", hostname: "registry.local" },
  });
  const robot = await api(keyward.url, "POST", `/registries/${reg.id}/tokens`, OPERATOR, {
    properties: { name: "ci-robot", scopes: [{ type: "repository", name: "ci/*", actions: ["pull", "push"] }] },
  });
  const robotCreds = `ci-robot:${robot.properties.credentials.password}`;

  const caPem = await (await fetch(`${keyward.url}/v2/auth/certs.pem`)).text();
  writeFileSync(join(work, "ca.pem"), caPem);
  writeFileSync(
    join(work, "config.yml"),
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(work, "storage")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${registry}`,
      "auth:",
      "  token:",
      `    realm: ${keyward.url}/v2/auth`,
      "    service: registry.local",
      "    issuer: keyward",
      `    rootcertbundle: ${join(work, "ca.pem")}`,
      "",
    ].join("\n"),
  );
  const registryProcess = spawn("docker-registry", ["serve", join(work, "config.yml")], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  children.push(registryProcess);
  let regLog = "";
  registryProcess.stdout.on("data", (d) => (regLog += d));
  registryProcess.stderr.on("data", (d) => (regLog += d));
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`http://${registry}/v2/`);
      if (r.status === 401) break;
    } catch {}
    if (i > 100) throw new Error(`registry did not start:\n${regLog}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const containerd = await startContainerd();

  buildImage(join(work, "image"), "hello from keyward interop\n");
  // The image's three blobs (manifest, config, layer): a containerd fetch must store them all.
  const imageBlobs = readdirSync(join(work, "image", "blobs", "sha256")).map((d) => `sha256:${d}`);
  writeFileSync(join(work, "policy.json"), JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const skopeo = (...args) =>
    spawnSync("skopeo", ["--policy", join(work, "policy.json"), "--registries-conf", "/dev/null", ...args], {
      encoding: "utf8",
      env: { ...process.env, REGISTRY_AUTH_FILE: join(work, "auth.json") },
      timeout: 120_000,
    });
  const push = (repo, creds) =>
    skopeo(
      "copy",
      "--dest-tls-verify=false",
      ...(creds ? ["--dest-creds", creds] : ["--dest-no-creds"]),
      `oci:${join(work, "image")}:latest`,
      `docker://${registry}/${repo}`,
    );
  const pull = (repo, creds) =>
    skopeo(
      "copy",
      "--src-tls-verify=false",
      ...(creds ? ["--src-creds", creds] : ["--src-no-creds"]),
      `docker://${registry}/${repo}`,
      `oci:${join(work, `pulled-${Math.random().toString(36).slice(2)}`)}:x`,
    );
  // containerd's client fetches into a namespace of its own: status 0 only if ctr succeeded and
  // the namespace then holds every blob of the image. `tokens` are the /v2/auth requests it made.
  let namespaces = 0;
  const ctrFetch = (repo, creds) => {
    const namespace = `keyward-interop-${++namespaces}`;
    const fetched = containerd.ctr(
      namespace,
      "content",
      "fetch",
      "--plain-http",
      "--http-dump",
      "--user",
      creds,
      `${registry}/${repo}`,
    );
    const stored = containerd.ctr(namespace, "content", "ls", "--quiet").stdout.split("\n");
    const complete = fetched.status === 0 && imageBlobs.every((blob) => stored.includes(blob));
    return {
      status: complete ? 0 : 1,
      stdout: redact(fetched.stdout),
      stderr: redact(`${fetched.stderr}\n(ctr exit ${fetched.status}; stored: ${stored.join(" ")})`),
      tokens: tokenRequests(`${fetched.stdout}\n${fetched.stderr}`),
    };
  };
  // "POST /v2/auth grant_type=password → 200 (×2)": what ctr asked the realm, in order.
  const tokenLine = (tokens) => {
    const parts = [];
    for (const t of tokens) {
      const grant = t.form.match(/grant_type=(\w+)/);
      const text = `${t.method} /v2/auth${grant ? ` grant_type=${grant[1]}` : ""} → ${t.status}`;
      const last = parts.at(-1);
      if (last?.text === text) last.count++;
      else parts.push({ text, count: 1 });
    }
    return parts.map((p) => (p.count > 1 ? `${p.text} (×${p.count})` : p.text)).join(", ") || "no token request";
  };
  // ctr asked once to resolve the tag and again to fetch the manifest: every time by POST.
  const byPasswordGrant = (result) => {
    const ok =
      result.tokens.length > 0 &&
      result.tokens.every(
        (t) =>
          t.method === "POST" &&
          t.status === 200 &&
          t.form.includes("grant_type=password") &&
          t.form.includes("client_id=containerd-client"),
      );
    return [ok, `its tokens came from the OAuth2 POST password grant, no GET (${tokenLine(result.tokens)})`];
  };
  // With credentials containerd asks the realm by the OAuth2 POST (client_id containerd-client)
  // and, if that is answered 400, 401, 404 (or 405), once more by GET with Basic credentials.
  const refusedBothWays = (result) => {
    const summary = result.tokens.map((t) => `${t.method} ${t.status}`).join(", ");
    return [
      summary === "POST 401, GET 401",
      `keyward refused the POST and then containerd's GET fallback (${tokenLine(result.tokens)})`,
    ];
  };

  // An oversize chunked body (no Content-Length) gets a 413 and must not restart the worker
  // under workerd, which failed every other request in flight (adversarial finding). curl, as
  // an attacker sends it; the next request must be served.
  {
    writeFileSync(join(work, "big.txt"), "a".repeat(100_000));
    const curl = (...args) =>
      spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", ...args], { encoding: "utf8" }).stdout;
    const results = [];
    for (const path of ["/v2/auth", "/registries", "/v2/_zot/ext/apikey"]) {
      const upload = curl(
        "-X",
        "POST",
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        `@${join(work, "big.txt")}`,
        `${keyward.url}${path}`,
      );
      const next = curl(
        "-X",
        "POST",
        "-d",
        "grant_type=refresh_token",
        "-d",
        "refresh_token=krf_x",
        "-d",
        "service=registry.local",
        `${keyward.url}/v2/auth`,
      );
      results.push(`${path} ${upload}/${next}`);
    }
    const ok = results.every((r) => r.endsWith(" 413/401"));
    console.log(
      `${ok ? "ok  " : "FAIL"} an oversize chunked body is a 413 and the next request is served (${results.join(", ")})`,
    );
    if (!ok) failed = true;
  }

  // The same with a declared Content-Length, while other clients' POSTs are in flight: none of
  // them may fail (an answer sent mid-upload used to restart the isolate under them).
  {
    const form = { "content-type": "application/x-www-form-urlencoded", connection: "close" };
    // Slow requests (a password sign-in runs scrypt), so that they are in flight during the uploads.
    const others = Array.from({ length: 6 }, () =>
      fetch(`${keyward.url}/v2/auth`, {
        method: "POST",
        headers: form,
        body: "grant_type=password&username=bob&password=bob-password-12&service=registry.local",
      }).then((r) => r.status),
    );
    // curl, as an attacker would send it: a declared length past the cap (curl also sends
    // Expect: 100-continue), answered 413 before the body is read.
    writeFileSync(join(work, "upload.json"), "a".repeat(9000));
    const uploads = Array.from(
      { length: 3 },
      (_, i) =>
        new Promise((resolve) => {
          setTimeout(
            () => {
              const curl = spawn("curl", [
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                `@${join(work, "upload.json")}`,
                `${keyward.url}/v2/_zot/ext/apikey`,
              ]);
              let out = "";
              curl.stdout.on("data", (d) => (out += d));
              curl.on("close", () => resolve(Number(out)));
            },
            50 + i * 100,
          );
        }),
    );
    const [otherStatuses, uploadStatuses] = [await Promise.all(others), await Promise.all(uploads)];
    const ok = otherStatuses.every((s) => s === 200) && uploadStatuses.every((s) => s === 413);
    console.log(
      `${ok ? "ok  " : "FAIL"} oversize uploads are 413s and disturb no other request (${uploadStatuses}; ${otherStatuses})`,
    );
    if (!ok) failed = true;
  }

  const rotation = { creds: "", sunset: 0 };
  const scenarios = [
    ["push as alice with her password", () => push("alice/app:1", "alice:alice-password-1"), true],
    ["pull as alice with her password", () => pull("alice/app:1", "alice:alice-password-1"), true],
    ["push as alice with her API key", () => push("alice/app:2", `alice:${key.apiKey}`), true],
    ["pull as alice with her API key", () => pull("alice/app:2", `alice:${key.apiKey}`), true],
    [
      "containerd (ctr content fetch) as alice with her password",
      () => ctrFetch("alice/app:1", "alice:alice-password-1"),
      true,
      byPasswordGrant,
    ],
    [
      "containerd (ctr content fetch) as alice with her API key",
      () => ctrFetch("alice/app:2", `alice:${key.apiKey}`),
      true,
      byPasswordGrant,
    ],
    [
      "containerd (ctr content fetch) with a wrong password is refused",
      () => ctrFetch("alice/app:1", "alice:wrong-password"),
      false,
      refusedBothWays,
    ],
    ["push by alice to bob's repository is refused", () => push("bob/app:1", "alice:alice-password-1"), false],
    ["a wrong password is refused", () => pull("alice/app:1", "alice:wrong-password"), false],
    ["anonymous pull of a private repository is refused", () => pull("alice/app:1", null), false],
    ["the superuser pushes a public image", () => push("public/base:1", ADMIN.join(":")), true],
    ["anonymous pull of a public repository works", () => pull("public/base:1", null), true],
    ["anonymous push to a public repository is refused", () => push("public/base:2", null), false],
    ["push as john.doe to john.doe/app", () => push("john.doe/app:1", "john.doe:john-password-1"), true],
    ["push with alice's key scoped to alice/a, to alice/a", () => push("alice/a:1", `alice:${scoped.apiKey}`), true],
    ["push with alice's key scoped to alice/a, to alice/b, is refused", () => push("alice/b:1", `alice:${scoped.apiKey}`), false],
    [
      "push with alice's key scoped to alice/a, to john.doe/alice/a, is refused",
      () => push("john.doe/alice/a:1", `alice:${scoped.apiKey}`),
      false,
    ],
    ["push with a registry token (name:krt_…) inside its scopes", () => push("ci/app:1", robotCreds), true],
    ["pull with the registry token", () => pull("ci/app:1", robotCreds), true],
    ["push with the registry token outside its scopes is refused", () => push("alice/app:9", robotCreds), false],
    // Rotation with a grace period: the robot's old password keeps pulling until its sunset,
    // the new one works at once, and the listing shows the old one's last use.
    [
      "rotate the registry token (15 s grace); its old password still pulls",
      async () => {
        const rotated = await api(keyward.url, "POST", `/registries/${reg.id}/tokens/${robot.id}/rotate`, OPERATOR, {
          gracePeriodSeconds: 15,
        });
        rotation.creds = `ci-robot:${rotated.properties.credentials.password}`;
        rotation.sunset = Date.parse(rotated.metadata.deprecatedSecrets[0].sunsetAt);
        return pull("ci/app:1", robotCreds);
      },
      true,
    ],
    ["the rotated token's new password pushes at once", () => push("ci/app:3", rotation.creds), true],
    [
      "the token's listing shows when its old password was last used",
      async () => {
        const token = await api(keyward.url, "GET", `/registries/${reg.id}/tokens/${robot.id}`, OPERATOR);
        return { status: token.metadata.deprecatedSecrets[0]?.lastUsedAt ? 0 : 1, stdout: JSON.stringify(token.metadata) };
      },
      true,
    ],
    [
      "after the sunset the old password is refused",
      async () => {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, rotation.sunset - Date.now() + 1000)));
        return pull("ci/app:1", robotCreds);
      },
      false,
    ],
    ["and the new password still pulls", () => pull("ci/app:3", rotation.creds), true],
    [
      "push with the registry token after disabling it is refused",
      async () => {
        await api(keyward.url, "PATCH", `/registries/${reg.id}/tokens/${robot.id}`, OPERATOR, { status: "disabled" });
        return push("ci/app:2", rotation.creds);
      },
      false,
    ],
    [
      "push with the API key after revoking it is refused",
      async () => {
        await api(keyward.url, "DELETE", `/v2/_zot/ext/apikey?id=${key.uuid}`, ["alice", "alice-password-1"]);
        return push("alice/app:3", `alice:${key.apiKey}`);
      },
      false,
    ],
  ];
  for (const [name, run, shouldSucceed, alsoCheck] of scenarios) {
    const result = await run();
    const ok = (result.status === 0) === shouldSucceed;
    console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
    // A scenario's second claim, e.g. how containerd got its token, on a line of its own.
    const [alsoOk, claim] = alsoCheck ? alsoCheck(result) : [true];
    if (alsoCheck) console.log(`${alsoOk ? "ok  " : "FAIL"}   … ${claim}`);
    if (!ok || !alsoOk) {
      failed = true;
      console.log(result.stdout, result.stderr);
    }
  }
  if (failed)
    console.log(`--- registry log ---\n${regLog.slice(-4000)}\n--- containerd log ---\n${containerd.log().slice(-4000)}`);
} catch (err) {
  failed = true;
  console.error(err);
} finally {
  stopAll();
  keyward.stop();
  await allExited();
  rmSync(work, { recursive: true, force: true });
}
console.log(failed ? "interop: FAILED" : "interop: all scenarios passed");
process.exit(failed ? 1 : 0);
