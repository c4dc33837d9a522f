#!/usr/bin/env node
// keyward-api: calls keyward's Kallithea-compatible JSON-RPC API (POST <apihost>/_admin/api) from the
// shell, like Kallithea's kallithea-api. Plain Node 20 ESM, no build step; commander parses the options.
//
// Exit codes: 0 the server answered a result, 2 the server answered an error, 1 anything else
// (usage, config, transport: connection refused, HTTP status not 200, a reply that is not JSON-RPC).
import { randomInt } from "node:crypto";
import { closeSync, constants, existsSync, fchmodSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Command, Option } from "commander";

const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));

const EXIT_USAGE = 1;
const EXIT_API_ERROR = 2;
/** A reply larger than this is refused unread (a hostile or broken server cannot fill memory). */
const MAX_REPLY_BYTES = 16 * 1024 * 1024;

/** A failure to report on stderr with an exit code, without a stack trace. */
class Failure extends Error {
  constructor(message, code = EXIT_USAGE) {
    super(message);
    this.code = code;
  }
}

const defaultConfig = () => join(homedir(), ".config", "keyward");

const program = new Command()
  .name("keyward-api")
  .description("Call keyward's Kallithea-compatible JSON-RPC API (POST <apihost>/_admin/api).")
  .version(version)
  .option("--apihost <url>", "keyward base URL, e.g. https://keyward.example.com")
  .option("--apikey <key>", "API key to call with (a zak_… key)")
  .option("--config <file>", "config file to read, or to write with --save-config (default: ~/.config/keyward)")
  .option("--save-config", "save --apihost and --apikey to the config file (mode 0600) and exit")
  .addOption(new Option("--format <format>", "output format").choices(["pretty", "json"]).default("pretty"))
  .addOption(new Option("--timeout <seconds>", "give up on the server after this long").argParser(Number).default(60))
  .argument("[method]", "API method name to call, e.g. get_user")
  .argument("[args...]", "method arguments as key:value (split at the first ':'; values are strings)")
  .addHelpText(
    "after",
    `
Credentials: --apihost and --apikey win; whichever is missing is read from the config file,
a JSON object {"apikey": …, "apihost": …}.

Examples:
  keyward-api --save-config --apihost https://keyward.example.com --apikey zak_…
  keyward-api get_user
  keyward-api get_user userid:alice
  keyward-api --format json create_api_key description:ci lifetime:60

Exit codes: 0 result, 2 the server answered an error, 1 usage, config or transport error.`,
  )
  .showHelpAfterError("(run keyward-api --help for usage)")
  // Everything after the method is its arguments, never options (a method name from a script
  // cannot turn into --apikey=…).
  .passThroughOptions();

/** Writes {"apikey", "apihost"} to path with mode 0600 (also when the file already existed). */
function saveConfig(path, apikey, apihost) {
  const existed = existsSync(path);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // O_NOFOLLOW: never write (and chmod) through a symlink planted at the config path.
  let fd;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if (error.code === "ELOOP") throw new Failure(`Refusing to write the config through a symlink: ${path}`);
    throw new Failure(`Could not write config file ${path}: ${error.message}`);
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(fd, `${JSON.stringify({ apikey, apihost }, null, 4)}\n`);
  } finally {
    closeSync(fd);
  }
  return existed ? `Updated config in ${path}` : `Created new config in ${path}`;
}

/** The config file's {apikey, apihost}, or null if there is no such file. */
function readConfig(path) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return null;
    throw new Failure(`Could not read config file ${path}: ${error.message}`);
  }
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077)
    console.error(`warning: ${path} holds an API key and is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  let config;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new Failure(`Config file ${path} is not valid JSON: ${error.message}`);
  }
  if (config === null || typeof config !== "object" || Array.isArray(config))
    throw new Failure(`Config file ${path} must hold a JSON object {"apikey": …, "apihost": …}`);
  return config;
}

/** key:value command-line arguments as the JSON-RPC args object; each is split at its first ':'. */
function parseArgs(list) {
  // No prototype: an argument named __proto__ is an argument like any other.
  const args = Object.create(null);
  for (const arg of list) {
    const colon = arg.indexOf(":");
    if (colon < 1) throw new Failure(`Invalid argument ${JSON.stringify(arg)}: expected key:value (e.g. userid:alice)`);
    args[arg.slice(0, colon)] = arg.slice(colon + 1);
  }
  return args;
}

/** JSON with object keys sorted and a 4-space indent, like Python's json.dumps(sort_keys=True, indent=4). */
function prettyJson(value) {
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

/** A piece of a server's text for an error message: control characters (terminal escapes) made visible. */
function snippet(text) {
  const visible = (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, "0")}`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what is replaced.
  const flat = text.trim().replace(/[\u0000-\u001f\u007f-\u009f]/g, visible);
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat;
}

/** The response body as text, refused past MAX_REPLY_BYTES. */
async function readCapped(response) {
  const declared = Number(response.headers.get("content-length"));
  if (declared > MAX_REPLY_BYTES) throw new Failure(`Server reply is larger than ${MAX_REPLY_BYTES} bytes`);
  const chunks = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_REPLY_BYTES) throw new Failure(`Server reply is larger than ${MAX_REPLY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** POSTs one JSON-RPC call and returns the checked reply {id, result, error}. */
async function apiCall(apihost, apikey, method, args, timeoutSeconds) {
  const url = `${apihost}/_admin/api`;
  const id = randomInt(1, 9999);
  let response;
  let body;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: JSON.stringify({ id, api_key: apikey, method, args }),
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutSeconds * 1000),
    });
    body = await readCapped(response);
  } catch (error) {
    if (error instanceof Failure) throw error;
    if (error.name === "TimeoutError") throw new Failure(`No answer from ${url} within ${timeoutSeconds} s`);
    const cause = error.cause?.message ?? error.cause?.code ?? error.message;
    throw new Failure(`Could not connect to ${url}: ${cause}`);
  }
  if (response.status !== 200) {
    const location = response.headers.get("location");
    const detail = location ? ` (redirects to ${location})` : body ? `: ${snippet(body)}` : "";
    throw new Failure(`Server answered HTTP ${response.status} ${response.statusText} for POST ${url}${detail}`);
  }
  let reply;
  try {
    reply = JSON.parse(body);
  } catch {
    throw new Failure(`Server reply from ${url} is not JSON: ${snippet(body) || "(empty body)"}`);
  }
  if (reply === null || typeof reply !== "object" || Array.isArray(reply) || !("id" in reply))
    throw new Failure(`Server reply from ${url} is not a JSON-RPC response: ${snippet(body)}`);
  if (reply.id !== id) throw new Failure(`ID mismatch got ${JSON.stringify(reply.id)}, expected ${id}`);
  return reply;
}

async function main() {
  program.parse();
  const opts = program.opts();
  const [method, rest] = program.processedArgs;
  const configPath = resolve(opts.config ?? defaultConfig());

  if (opts.saveConfig) {
    if (!opts.apikey || !opts.apihost) throw new Failure("--save-config needs both --apihost and --apikey");
    console.log(saveConfig(configPath, opts.apikey, opts.apihost));
    return;
  }

  let { apikey, apihost } = opts;
  if (!apikey || !apihost) {
    const config = readConfig(configPath);
    if (config === null) throw new Failure("Could not find config file and missing --apikey or --apihost in params");
    apikey ||= config.apikey;
    apihost ||= config.apihost;
    if (typeof apikey !== "string" || !apikey || typeof apihost !== "string" || !apihost)
      throw new Failure(`Config file ${configPath} lacks "apikey" or "apihost" and they are not given as --apikey/--apihost`);
  }
  apihost = apihost.replace(/\/+$/, "");
  let url;
  try {
    url = new URL(apihost);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
  } catch {
    throw new Failure(`Invalid apihost ${JSON.stringify(apihost)}: expected an http:// or https:// URL`);
  }
  if (url.search || url.hash || apihost.includes("#") || apihost.includes("?")) {
    throw new Failure(`Invalid apihost ${JSON.stringify(apihost)}: a base URL has no query or fragment`);
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  if (url.protocol === "http:" && !loopback) console.error(`warning: sending the API key to ${apihost} over plain http`);
  if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) throw new Failure("--timeout must be a positive number of seconds");

  if (!method) throw new Failure("Please specify method name");
  const args = parseArgs(rest ?? []);

  if (opts.format === "pretty") console.log(`Calling method ${method} => ${apihost}`);
  const reply = await apiCall(apihost, apikey, method, args, opts.timeout);
  const failed = reply.error !== null && reply.error !== undefined;
  const data = failed ? reply.error : (reply.result ?? null);
  let text;
  try {
    text = opts.format === "json" ? JSON.stringify(data) : `Server response\n${failed ? "ERROR:" : ""}${prettyJson(data)}`;
  } catch (error) {
    // A reply nested deeper than the stack allows: not a result keyward sends.
    throw new Failure(`Server reply cannot be shown: ${error.message}`);
  }
  console.log(text);
  if (failed) process.exitCode = EXIT_API_ERROR;
}

try {
  await main();
} catch (error) {
  if (!(error instanceof Failure)) throw error;
  console.error(error.message);
  process.exitCode = error.code;
}
