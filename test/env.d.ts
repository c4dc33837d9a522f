import type { D1Migration } from "cloudflare:test";
import type { Env as KeywardEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends KeywardEnv {
      TEST_MIGRATIONS: D1Migration[];
      TEST_WRANGLER_CRONS: string[];
      TEST_SECRETLINTRC: string;
      CREDENTIAL_RATE_LIMIT_TIGHT: RateLimit;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}
