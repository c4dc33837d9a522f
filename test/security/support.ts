import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { expect } from "vitest";
import { adminAuth, call, json, uniqueIp, uniqueName } from "../helpers";

/** The scopes a registry would see in the token /v2/auth returns. */
export async function granted(auth: string | undefined, scopes: string[], service = "registry.local") {
  const query = new URLSearchParams({ service });
  for (const s of scopes) query.append("scope", s);
  const res = await call(`/v2/auth?${query}`, { auth, headers: { "cf-connecting-ip": uniqueIp() } });
  const body = await json(res, 200);
  return decodeJwt(body.token).access as { type: string; name: string; actions: string[] }[];
}

export function postToken(fields: Record<string, string>, ip = uniqueIp()) {
  return call("/v2/auth", {
    method: "POST",
    body: new URLSearchParams(fields).toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": ip },
  });
}

/** A registry (superuser) whose `service` is returned, and a krt_ token on it. */
export async function registryWithToken(scopes: { type: string; name: string; actions: string[] }[]) {
  const name = uniqueName("reg").replace(/[^a-z0-9-]/g, "");
  const registry = await json(
    await call("/registries", { method: "POST", auth: adminAuth(), json: { properties: { name, location: "de/fra" } } }),
    201,
  );
  const tokenName = `t${Math.random().toString(36).slice(2, 10)}`;
  const token = await json(
    await call(`/registries/${registry.id}/tokens`, {
      method: "POST",
      auth: adminAuth(),
      json: { properties: { name: tokenName, scopes } },
    }),
    201,
  );
  return {
    registryId: registry.id as string,
    service: registry.properties.hostname as string,
    tokenId: token.id as string,
    name: tokenName,
    password: token.properties.credentials.password as string,
  };
}

/** How many audit rows of `kind` name `targetId`. */
export async function auditCount(kind: string, targetId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE kind = ? AND target_id = ?")
    .bind(kind, targetId)
    .first<{ n: number }>();
  return row!.n;
}

export function expectStatuses(responses: Response[], expected: Record<number, number>) {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  expect(counts).toEqual(expected);
}
