import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ORIGIN } from "../helpers";

/*
 * Adversarial finding 4: an anonymous POST with a chunked (no Content-Length) body over the
 * limit answered 413 but left the body half-read, which restarted the isolate under workerd
 * and failed other clients' requests in flight. The limit now reads such a body itself.
 */

function chunked(bytes: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) return controller.close();
      const n = Math.min(16 * 1024, bytes - sent);
      controller.enqueue(new Uint8Array(n).fill(97));
      sent += n;
    },
  });
}

const post = (path: string, body: ReadableStream<Uint8Array> | string, type: string) =>
  exports.default.fetch(
    new Request(ORIGIN + path, { method: "POST", body, headers: { "content-type": type, "cf-connecting-ip": "192.0.2.9" } }),
  );

describe("chunked bodies over the limit", () => {
  it.each([
    ["/v2/auth", "application/x-www-form-urlencoded", (b: any) => b.errors[0].code === "INVALID_REQUEST"],
    ["/registries", "application/json", (b: any) => b.httpStatus === 413],
    ["/v2/_zot/ext/apikey", "application/json", (b: any) => b.error.code === "payload_too_large"],
  ])("%s: 413 in the surface's format, and the next request is served", async (path, type, shape) => {
    const res = await post(path, chunked(100_000), type);
    expect(res.status).toBe(413);
    expect(shape(await res.json())).toBe(true);
    const next = await post(
      "/v2/auth",
      "grant_type=refresh_token&refresh_token=krf_x&service=registry.local",
      "application/x-www-form-urlencoded",
    );
    expect(next.status).toBe(401);
  });

  it("a small chunked body is read and handled as usual", async () => {
    const body = new TextEncoder().encode("grant_type=refresh_token&refresh_token=krf_x&service=registry.local");
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    });
    const res = await post("/v2/auth", stream, "application/x-www-form-urlencoded");
    expect(res.status).toBe(401);
    expect((await res.json<any>()).errors[0].message).toBe("Invalid refresh token");
  });

  it("a body far past the drain limit is cut off with a 413 too", async () => {
    const res = await post("/v2/auth", chunked(3 * 1024 * 1024), "application/x-www-form-urlencoded");
    expect(res.status).toBe(413);
  });
});
