import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ConfigError, DEV_DEFAULTS, loadConfig } from "../src/config";
import worker from "../src/index";
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

describe("configuration schema", () => {
  it("reads unset and empty settings as their defaults", async () => {
    const config = await loadConfig({
      ...env,
      KEYWARD_ISSUER: "",
      KEYWARD_TOKEN_TTL_SECONDS: undefined,
      KEYWARD_SIGNING_ALG: "",
      KEYWARD_AUDIENCE: undefined,
      KEYWARD_PEPPER_PREVIOUS: "",
    });
    expect(config).toMatchObject({
      environment: "test",
      issuer: "keyward",
      audience: "keyward",
      tokenTtlSeconds: 300,
      signingAlgorithm: "ES256",
      apiKeyRetentionMs: 30 * 86_400_000,
      peppers: { current: { version: 1 }, previous: null },
      admin: { username: env.KEYWARD_ADMIN_USER },
      verifyCacheMs: 0,
      d1ReadReplicas: false,
      publicUrl: null,
    });
  });

  it("reads the new hot-path and publishing settings", async () => {
    const config = await loadConfig({
      ...env,
      KEYWARD_VERIFY_CACHE_SECONDS: "60",
      KEYWARD_D1_READ_REPLICAS: "true",
      KEYWARD_PUBLIC_URL: "https://keyward.example.com/some/path",
    });
    expect(config).toMatchObject({ verifyCacheMs: 60_000, d1ReadReplicas: true, publicUrl: "https://keyward.example.com" });
  });

  it("takes the audience from the issuer and parses a pepper being rotated out", async () => {
    const config = await loadConfig({
      ...env,
      KEYWARD_ISSUER: "keyward.example",
      KEYWARD_AUDIENCE: "",
      KEYWARD_PEPPER_VERSION: "2",
      KEYWARD_PEPPER_PREVIOUS: "1:an-old-pepper:with-a-colon",
    });
    expect(config.audience).toBe("keyward.example");
    expect(config.peppers.current.version).toBe(2);
    expect(config.peppers.previous?.version).toBe(1);
  });

  it("treats an unknown KEYWARD_ENV as production", async () => {
    const body = await json(await fetchWithEnv({ KEYWARD_ENV: "staging", KEYWARD_PEPPER: undefined }), 503);
    expect(body.error.message).toContain("KEYWARD_PEPPER is not set");
  });

  describe.each([
    { setting: "KEYWARD_TOKEN_TTL_SECONDS", value: "0", message: "must be a positive integer" },
    { setting: "KEYWARD_TOKEN_TTL_SECONDS", value: "five", message: "must be a positive integer" },
    { setting: "KEYWARD_AUDIT_RETENTION_DAYS", value: "1.5", message: "must be a positive integer" },
    { setting: "KEYWARD_SIGNING_ALG", value: "HS256", message: "must be one of RS256, ES256" },
    { setting: "KEYWARD_PEPPER_PREVIOUS", value: "old-pepper", message: "must look like <version>:<value>" },
    {
      setting: "KEYWARD_PEPPER_PREVIOUS",
      value: "1:old-pepper",
      message: "must have another version than KEYWARD_PEPPER_VERSION",
    },
    { setting: "KEYWARD_ADMIN_USER", value: "Root!", message: "is not a valid username" },
    { setting: "KEYWARD_VERIFY_CACHE_SECONDS", value: "301", message: "must be at most 300" },
    { setting: "KEYWARD_VERIFY_CACHE_SECONDS", value: "-1", message: "must be a whole number of seconds" },
    { setting: "KEYWARD_D1_READ_REPLICAS", value: "yes", message: 'must be "true" or "false"' },
    { setting: "KEYWARD_PUBLIC_URL", value: "keyward.example.com", message: "must be an http(s) URL" },
    { setting: "KEYWARD_PUBLIC_URL", value: "ftp://keyward.example.com", message: "must be an http(s) URL" },
  ])("$setting=$value", ({ setting, value, message }) => {
    it("is refused with a message naming the setting", async () => {
      const failure = loadConfig({ ...env, [setting]: value });
      await expect(failure).rejects.toThrow(ConfigError);
      await expect(failure).rejects.toThrow(`${setting} ${message}`);
    });

    it("answers 503 misconfigured naming the setting", async () => {
      const body = await json(await fetchWithEnv({ [setting]: value }), 503);
      expect(body.error.code).toBe("misconfigured");
      expect(body.error.message).toContain(`${setting} ${message}`);
    });
  });

  it("names every refused secret at once, without quoting any", async () => {
    const response = await fetchWithEnv({
      KEYWARD_ENV: "production",
      KEYWARD_PEPPER: "tiny-pepper-value",
      KEYWARD_KEK: DEV_DEFAULTS.KEYWARD_KEK,
    });
    const body = await json(response, 503);
    expect(body.error.message).toContain("KEYWARD_PEPPER must be at least 32 characters");
    expect(body.error.message).toContain("KEYWARD_KEK holds the development default");
    expect(body.error.message).not.toContain("tiny-pepper-value");
    expect(body.error.message).not.toContain(DEV_DEFAULTS.KEYWARD_KEK);
  });
});
