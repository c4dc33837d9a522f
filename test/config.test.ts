import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { DEV_DEFAULTS } from "../src/config";
import { json, ORIGIN } from "./helpers";

function fetchWithEnv(overrides: Record<string, string | undefined>) {
  return worker.fetch(new Request(`${ORIGIN}/api/v1/user/`), { ...env, ...overrides }, {
    waitUntil() {},
    passThroughOnException() {},
  } as unknown as ExecutionContext);
}

describe("configuration", () => {
  it("refuses to run in production without a pepper", async () => {
    const response = await fetchWithEnv({ KEYWARD_ENV: "production", KEYWARD_PEPPER: undefined });
    const body = await json(response, 503);
    expect(body.error.code).toBe("misconfigured");
    expect(body.error.message).toContain("KEYWARD_PEPPER");
  });

  it.each(Object.keys(DEV_DEFAULTS) as (keyof typeof DEV_DEFAULTS)[])(
    "refuses the development default of %s in production",
    async (name) => {
      const response = await fetchWithEnv({ KEYWARD_ENV: "production", [name]: DEV_DEFAULTS[name] });
      const body = await json(response, 503);
      expect(body.error.message).toContain(name);
      expect(body.error.message).not.toContain(DEV_DEFAULTS[name]);
    },
  );

  it("refuses a short pepper in production", async () => {
    const body = await json(await fetchWithEnv({ KEYWARD_ENV: "production", KEYWARD_PEPPER: "short" }), 503);
    expect(body.error.message).toContain("32 characters");
  });

  it("runs in production once every secret is set", async () => {
    const response = await fetchWithEnv({ KEYWARD_ENV: "production" });
    expect(response.status).toBe(401); // configured: asks for credentials
  });

  it("uses the dev defaults in development when no secret is set", async () => {
    const response = await fetchWithEnv({
      KEYWARD_ENV: "development",
      KEYWARD_PEPPER: undefined,
      KEYWARD_KEK: undefined,
    });
    expect(response.status).toBe(401);
  });
});
