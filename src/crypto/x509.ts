// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { IMPORT, type KeyAlgorithm, SIGN } from "./keys";

/*
 * keyward's token CA and the leaf certificates it gives each signing key. distribution
 * verifies a token's `x5c` chain against the CA in its rootcertbundle, so rotating signing
 * keys never means touching the registry.
 */
const CA_ALG: KeyAlgorithm = "ES256";
const signingAlgorithm = (alg: KeyAlgorithm) => ({ ...IMPORT[alg], ...SIGN[alg], hash: "SHA-256" });

export async function createCaCertificate(
  keys: CryptoKeyPair,
  name: string,
  notBefore: Date,
  notAfter: Date,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${name}`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: signingAlgorithm(CA_ALG),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

export async function issueLeafCertificate(options: {
  ca: x509.X509Certificate;
  caKey: CryptoKey;
  publicKey: CryptoKey;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${options.subject}`,
    issuer: options.ca.subject,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    publicKey: options.publicKey,
    signingKey: options.caKey,
    signingAlgorithm: signingAlgorithm(CA_ALG),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(options.ca),
      await x509.SubjectKeyIdentifierExtension.create(options.publicKey),
    ],
  });
}

export function parseCertificate(pemOrDer: string | Uint8Array): x509.X509Certificate {
  return new x509.X509Certificate(pemOrDer);
}

/** True when `leaf` is signed by `ca` and both are valid at `at`. */
export async function verifyChain(leaf: x509.X509Certificate, ca: x509.X509Certificate, at = new Date()): Promise<boolean> {
  return (await leaf.verify({ publicKey: ca, date: at })) && (await ca.verify({ date: at }));
}

export const CA_KEY_ALGORITHM = CA_ALG;

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f; // positive INTEGER
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}
