import { describe, expect, it } from "vitest";
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
});
