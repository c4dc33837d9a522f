import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { ORIGIN, uniqueIp } from "../helpers";

/** A minimal browser: a cookie jar, one client address, requests through the Worker's fetch. */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly ip = uniqueIp();
  /** The full Set-Cookie lines last received, by cookie name. */
  readonly setCookies = new Map<string, string>();

  constructor(private readonly fetcher: (request: Request) => Promise<Response> = (r) => exports.default.fetch(r)) {}

  async fetch(path: string, init: { method?: string; headers?: Record<string, string>; json?: unknown; body?: BodyInit } = {}) {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", this.ip);
    if (this.cookies.size > 0) headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    let body = init.body;
    if (init.json !== undefined) {
      body = JSON.stringify(init.json);
      headers.set("content-type", "application/json");
    }
    const response = await this.fetcher(
      new Request(ORIGIN + path, { method: init.method ?? "GET", headers, body, redirect: "manual" }),
    );
    // workerd has Headers.getSetCookie(); workers-types does not declare it yet.
    for (const line of (response.headers as unknown as { getSetCookie(): string[] }).getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      this.setCookies.set(name, line);
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** The seed's three steps: GET /csrf_token, then POST /api/v1/signin with it. Returns the next token. */
  async signIn(username: string, password: string): Promise<string> {
    const { csrf_token } = await (await this.fetch("/csrf_token")).json<{ csrf_token: string }>();
    const response = await this.fetch("/api/v1/signin", {
      method: "POST",
      headers: { "x-csrf-token": csrf_token, "x-requested-with": "XMLHttpRequest" },
      json: { username, password },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    return response.headers.get("x-next-csrf-token")!;
  }

  /** The session secret in the cookie (not a pre-sign-in nonce). */
  get session(): string | undefined {
    const value = this.cookies.get("__Host-keyward_session");
    return value?.startsWith("kss_") ? value : undefined;
  }
}
