import { basic, call, createKey, json, type TestUser, uniqueIp } from "../helpers";
import { auditCount, registryWithToken } from "../security/support";

export const SERVICE = "registry.local";

/** A form POST, as OAuth clients send it. */
export function formPost(
  path: string,
  fields: Record<string, string | string[]>,
  auth?: string,
  headers: Record<string, string> = {},
) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) for (const v of [value].flat()) body.append(name, v);
  return call(path, {
    method: "POST",
    auth,
    body: body.toString(),
    headers: { "content-type": "application/x-www-form-urlencoded", "cf-connecting-ip": uniqueIp(), ...headers },
  });
}

export const introspect = (auth: string | undefined, token: string, extra: Record<string, string> = {}) =>
  formPost("/oauth/introspect", { token, ...extra }, auth);

export const revoke = (token: string, auth?: string) => formPost("/oauth/revoke", { token }, auth);

/** A registry (its own service) and an enabled robot token on it (pull, push on ci/*), made by the superuser. */
export const registryToken = (scopes = [{ type: "repository", name: "ci/*", actions: ["pull", "push"] }]) =>
  registryWithToken(scopes);

/** A refresh token minted at /v2/auth with a password or key (POST, offline access). */
export async function refreshToken(username: string, secret: string, clientId = "oauth-test") {
  const response = await formPost("/v2/auth", {
    grant_type: "password",
    service: SERVICE,
    username,
    password: secret,
    access_type: "offline",
    client_id: clientId,
  });
  return (await json(response, 200)).refresh_token as string;
}

/** An access token (JWT) from /v2/auth for `scope`. */
export async function accessToken(user: TestUser, scope: string) {
  const response = await call(`/v2/auth?service=${SERVICE}&scope=${encodeURIComponent(scope)}`, { auth: user.auth });
  return (await json(response, 200)).token as string;
}

export async function keyOf(user: TestUser, body: Record<string, unknown> = { label: "oauth" }) {
  const key = await createKey(user, body);
  return { ...key, auth: basic(user.username, key.apiKey) };
}

export { auditCount };
