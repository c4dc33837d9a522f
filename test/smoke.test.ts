import { describe, expect, it } from "vitest";
import { adminAuth, call, createKey, createUser, json } from "./helpers";

describe("smoke", () => {
  it("serves the caller", async () => {
    const me = await json(await call("/api/v1/user/", { auth: adminAuth() }), 200);
    expect(me.super_user).toBe(true);
    const user = await createUser();
    const key = await createKey(user);
    expect(key.apiKey).toMatch(/^zak_/);
  });
});
