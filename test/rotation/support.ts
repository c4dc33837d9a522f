import { env } from "cloudflare:workers";
import { adminAuth, bearer, call, json } from "../helpers";

/** Rotates one of the caller's API keys; the parsed response (the new secret in `apiKey`). */
export async function rotateKey(auth: string, id: string, gracePeriodSeconds: number, status = 201) {
  return json(await call(`/api/v1/user/apikeys/${id}/rotate`, { method: "POST", auth, json: { gracePeriodSeconds } }), status);
}

/** Rotates a registry token through the IONOS surface (as the superuser unless told). */
export async function rotateToken(registryId: string, tokenId: string, gracePeriodSeconds: number, auth = adminAuth()) {
  return call(`/registries/${registryId}/tokens/${tokenId}/rotate`, { method: "POST", auth, json: { gracePeriodSeconds } });
}

/** The caller's identity through keyward's API, with the response (for its headers). */
export const whoAmI = (secret: string) => call("/api/v1/user/", { auth: bearer(secret) });

/** Moves a deprecated secret's sunset into the past, as if its grace period had run out. */
export async function lapse(deprecatedSecretId: string) {
  await env.DB.prepare("UPDATE deprecated_secrets SET sunset_at = ? WHERE id = ?")
    .bind(Date.now() - 1000, deprecatedSecretId)
    .run();
}

export async function deprecatedCount(credentialId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM deprecated_secrets WHERE api_key_id = ?1 OR registry_token_id = ?1")
    .bind(credentialId)
    .first<{ n: number }>();
  return row!.n;
}
