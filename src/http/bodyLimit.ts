import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

/**
 * Caps a request body at `maxSize` bytes (413 past it). A declared Content-Length is judged
 * before anything is read. A body without one (chunked) is buffered here up to `maxSize` bytes;
 * past that the rest is read and dropped (see drain) before the 413: hono's bodyLimit answered
 * with the body half-read, and under workerd that restarted the isolate and failed other
 * clients' requests in flight — an anonymous denial of service.
 */
export function limitBody(maxSize: number) {
  const tooLarge = () => new ApiError("payload_too_large", `Request body is larger than ${maxSize} bytes`);
  return createMiddleware<AppEnv>(async (c, next) => {
    const body = c.req.raw.body;
    if (!body || c.req.raw.bodyUsed) return next();
    const declared = c.req.header("content-length");
    if (declared !== undefined) {
      if (!/^\d+$/.test(declared) || Number(declared) > maxSize) {
        // Judged unread, answered read: replying mid-upload is what disturbs other requests.
        await drain(body.getReader());
        throw tooLarge();
      }
      return next();
    }
    const reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxSize) {
        await drain(reader);
        throw tooLarge();
      }
      chunks.push(value);
    }
    const buffered = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      buffered.set(chunk, at);
      at += chunk.byteLength;
    }
    c.req.raw = new Request(c.req.url, { method: c.req.method, headers: c.req.raw.headers, body: buffered });
    await next();
  });
}

/**
 * How much of an over-long body is read and dropped before the stream is cut off: Cloudflare's
 * edge refuses bodies past 100 MB on the Free and Pro plans, so this covers every body an
 * ordinary deployment can receive. (16 MiB was not enough: a 17 MB upload still restarted the
 * isolate — adversarial finding, issue 12.)
 */
export const DRAIN_LIMIT_BYTES = 100 * 1024 * 1024;

/**
 * Reads and drops the rest of an over-long body (up to DRAIN_LIMIT_BYTES), then cancels.
 * Answering while a body is still arriving made wrangler dev's workerd restart the isolate,
 * failing every other request in flight. Reading costs I/O, hardly CPU.
 */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>) {
  let dropped = 0;
  while (dropped <= DRAIN_LIMIT_BYTES) {
    const { done, value } = await reader.read();
    if (done) return;
    dropped += value.byteLength;
  }
  await reader.cancel().catch(() => undefined);
}
