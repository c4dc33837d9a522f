import { toBase64Url } from "../crypto/encoding";
import { toHex } from "../crypto/secrets";

/*
 * A delivery's signature: `X-Keyward-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
 * "<t>.<body>")>` — Stripe's shape, so receivers know how to check it (README § Webhooks). The
 * timestamp inside the signed text lets a receiver refuse a replayed delivery.
 */

/** The secret shown once: `whsec_` and 32 random bytes, base64url. The HMAC key is the whole string. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${toBase64Url(bytes)}`;
}

export async function signatureHeader(secret: string, body: string, at: Date): Promise<string> {
  const t = Math.floor(at.getTime() / 1000);
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${t}.${body}`));
  return `t=${t},v1=${toHex(new Uint8Array(mac))}`;
}
