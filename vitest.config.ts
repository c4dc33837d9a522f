import { readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// The crons wrangler.toml declares, handed to the tests so they can check src/jobs matches.
const wranglerCrons = /crons\s*=\s*\[([^\]]*)\]/.exec(readFileSync("wrangler.toml", "utf8"))?.[1] ?? "";

export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  return {
    plugins: [
      cloudflareTest({
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // A tight per-credential limit that tests swap in for CREDENTIAL_RATE_LIMIT (wrangler.toml's
          // is too generous to reach in a test).
          ratelimits: { CREDENTIAL_RATE_LIMIT_TIGHT: { simple: { limit: 3, period: 60 } } },
          bindings: {
            KEYWARD_ENV: "test",
            KEYWARD_PEPPER: "test-pepper-0123456789abcdef0123456789abcdef",
            KEYWARD_KEK: "test-kek-0123456789abcdef0123456789abcdef",
            KEYWARD_ADMIN_USER: "root",
            KEYWARD_ADMIN_PASSWORD: "root-password-for-tests",
            TEST_MIGRATIONS: migrations,
            TEST_WRANGLER_CRONS: JSON.parse(`[${wranglerCrons}]`),
            // The shipped scanner configuration, so a test can hold it to the published patterns.
            TEST_SECRETLINTRC: readFileSync(".secretlintrc.json", "utf8"),
          },
        },
      }),
    ],
    test: {
      setupFiles: ["./test/setup.ts"],
      testTimeout: 30_000,
    },
  };
});
