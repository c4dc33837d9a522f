import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { toBase64Url } from "../src/crypto/encoding";
import { deriveKek, open, seal } from "../src/crypto/envelope";
import { exportPublicJwk, generateKeyPair, thumbprint } from "../src/crypto/keys";
import { createCaCertificate, issueLeafCertificate, verifyChain } from "../src/crypto/x509";

const RFC7638_JWK = {
  kty: "RSA",
  n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
  e: "AQAB",
  alg: "RS256",
  kid: "2011-04-29",
};

// P-256's generator point: several projects hashed this instead of the key.
const P256_G = {
  x: "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY",
  y: "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU",
};

async function sha256b64url(text: string) {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));
}

describe("RFC 7638 thumbprints", () => {
  it("match the RFC's published example", async () => {
    expect(await thumbprint(RFC7638_JWK)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it("match an independent computation for EC keys, over the key itself", async () => {
    const pair = await generateKeyPair("ES256");
    const jwk = await exportPublicJwk(pair.publicKey);
    const canonical = `{"crv":"P-256","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
    expect(await thumbprint(jwk)).toBe(await sha256b64url(canonical));
    const generator = `{"crv":"P-256","kty":"EC","x":"${P256_G.x}","y":"${P256_G.y}"}`;
    expect(await thumbprint(jwk)).not.toBe(await sha256b64url(generator));
    const other = await exportPublicJwk((await generateKeyPair("ES256")).publicKey);
    expect(await thumbprint(other)).not.toBe(await thumbprint(jwk));
  });

  it("match an independent computation for RSA keys and ignore optional members", async () => {
    const jwk = await exportPublicJwk((await generateKeyPair("RS256")).publicKey);
    const canonical = `{"e":"${jwk.e}","kty":"RSA","n":"${jwk.n}"}`;
    expect(await thumbprint({ ...jwk, kid: "x", use: "sig" })).toBe(await sha256b64url(canonical));
  });
});

describe("AES-GCM envelope", () => {
  it("round-trips and detects tampering, another context and another key", async () => {
    const kek = await deriveKek(env.KEYWARD_KEK!);
    const secret = crypto.getRandomValues(new Uint8Array(100));
    const sealed = await seal(kek, secret, "kid:abc");
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(await open(kek, sealed, "kid:abc")).toEqual(secret);

    const [v, iv, ct] = sealed.split(".");
    const flipped = ct!.slice(0, 10) + (ct![10] === "A" ? "B" : "A") + ct!.slice(11);
    await expect(open(kek, `${v}.${iv}.${flipped}`, "kid:abc")).rejects.toThrow();
    await expect(open(kek, sealed, "kid:other")).rejects.toThrow();
    const otherKek = await deriveKek("another-kek-0123456789abcdef0123456789abcdef");
    await expect(open(otherKek, sealed, "kid:abc")).rejects.toThrow();
    expect(await seal(kek, secret, "kid:abc")).not.toBe(sealed); // fresh IV each time
  });
});

describe("token CA certificates", () => {
  it("issues leaves that verify against their CA only, within their dates", async () => {
    const now = new Date();
    const caKeys = await generateKeyPair("ES256");
    const ca = await createCaCertificate(caKeys, "test CA", now, new Date(now.getTime() + 86_400_000));
    const leafKeys = await generateKeyPair("ES256");
    const leaf = await issueLeafCertificate({
      ca,
      caKey: caKeys.privateKey,
      publicKey: leafKeys.publicKey,
      subject: "leaf",
      notBefore: now,
      notAfter: new Date(now.getTime() + 3_600_000),
    });
    expect(await verifyChain(leaf, ca)).toBe(true);
    expect(await verifyChain(leaf, ca, new Date(now.getTime() + 7_200_000))).toBe(false);
    const otherKeys = await generateKeyPair("ES256");
    const otherCa = await createCaCertificate(otherKeys, "other CA", now, new Date(now.getTime() + 86_400_000));
    expect(await verifyChain(leaf, otherCa)).toBe(false);
  });
});
