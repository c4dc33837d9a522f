import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { revokeApiKey } from "../../src/services/apiKeys";
import { SYSTEM_ACTOR } from "../../src/services/audit";
import { findUser } from "../../src/services/users";
import { call, createKey, createUser } from "../helpers";
import { auditCount, expectStatuses } from "./support";

/* Defect 7: parallel revokes of one API key answered several 200s and wrote duplicate audit rows. */
describe("parallel revokes of one API key", () => {
  it("one revoke (200) and one audit row; the others are 404", async () => {
    const user = await createUser();
    const { uuid } = await createKey(user, { label: "race" });
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => call(`/v2/_zot/ext/apikey?id=${uuid}`, { method: "DELETE", auth: user.auth })),
    );
    expectStatuses(responses, { 200: 1, 404: 5 });
    expect(await auditCount("api_key.revoke", uuid)).toBe(1);
  });

  it("the same at the service: six revokes that all passed the ownership check, one wins", async () => {
    // HTTP requests rarely overlap closely enough; this reaches the branch every time.
    const user = await createUser();
    const { uuid } = await createKey(user, { label: "race-service" });
    const db = createDb(env.DB);
    const owner = (await findUser(db, user.username))!;
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => revokeApiKey(db, SYSTEM_ACTOR, owner, uuid)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(
      Array(5).fill("not_found"),
    );
    expect(await auditCount("api_key.revoke", uuid)).toBe(1);
  });
});
