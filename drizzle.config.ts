import { defineConfig } from "drizzle-kit";

// drizzle-kit writes SQL into the one migrations folder that wrangler and the tests apply.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./migrations",
});
