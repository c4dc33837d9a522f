import { redactSecrets } from "../../crypto/secrets";

/*
 * Kallithea's JSON-RPC envelope (kallithea/controllers/api/__init__.py), read in Kallithea's
 * order and answered with Kallithea's strings. Pure functions: no I/O.
 */

/** A reply: always HTTP 200, exactly one of result/error non-null. */
export interface Envelope {
  id: unknown;
  result: unknown;
  error: string | null;
}

export const rpcResult = (id: unknown, result: unknown): Envelope => ({ id, result: result ?? {}, error: null });
export const rpcError = (id: unknown, error: string): Envelope => ({ id, result: null, error });

export interface RpcCall {
  id: unknown;
  apiKey: unknown;
  method: unknown;
  args: Record<string, unknown>;
}

/**
 * Python's repr of a bytes object (`b'...'`), as Kallithea's `%r` of the raw body renders it:
 * printable ASCII as is, \t \n \r and the quote escaped, everything else as \xNN. Single quotes
 * unless the bytes hold a single quote and no double quote.
 */
export function pythonBytesRepr(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? '"' : "'";
  let out = "";
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (ch === "\\" || ch === quote) out += `\\${ch}`;
    else if (ch === "\t") out += "\\t";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (b >= 0x20 && b < 0x7f) out += ch;
    else out += `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return `b${quote}${out}${quote}`;
}

const ENVELOPE_KEYS = ["api_key", "id", "method", "args"] as const;

/** The call in a request body, or the envelope error Kallithea would answer with. */
export function parseCall(raw: string): { ok: true; call: RpcCall } | { ok: false; reply: Envelope } {
  if (raw.length === 0) return { ok: false, reply: rpcError(null, "Content-Length is 0") };
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (err) {
    // keyward secrets in a malformed body are not echoed back (SPEC §3: never in an error);
    // a body with NUL bytes (UTF-16, binary) could hide one from the pattern: not echoed.
    if (raw.includes("\u0000")) {
      return {
        ok: false,
        reply: rpcError(null, `JSON parse error ERR:not JSON text RAW:<${raw.length} characters with NUL bytes, not shown>`),
      };
    }
    const reason = redactSecrets(err instanceof Error ? err.message : String(err));
    return { ok: false, reply: rpcError(null, `JSON parse error ERR:${reason} RAW:${pythonBytesRepr(redactSecrets(raw))}`) };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, reply: rpcError(null, "Incorrect JSON query: the body must be a JSON object") };
  }
  const fields = body as Record<string, unknown>;
  // Read in Kallithea's order; `id` is known (and echoed) only once it has been read.
  let id: unknown = null;
  for (const key of ENVELOPE_KEYS) {
    if (!Object.hasOwn(fields, key)) return { ok: false, reply: rpcError(id, `Incorrect JSON query missing '${key}'`) };
    if (key === "id") id = fields.id;
  }
  const args = fields.args;
  return {
    ok: true,
    call: {
      id,
      apiKey: fields.api_key,
      method: fields.method,
      args: typeof args === "object" && args !== null && !Array.isArray(args) ? (args as Record<string, unknown>) : {},
    },
  };
}
