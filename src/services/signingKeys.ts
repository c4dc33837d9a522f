import { and, asc, desc, eq, gt, isNotNull, lt } from "drizzle-orm";
import { type JWTPayload, SignJWT } from "jose";
import type { Config } from "../config";
import { toBase64 } from "../crypto/encoding";
import { open, seal } from "../crypto/envelope";
import {
  exportPems,
  exportPublicJwk,
  generateKeyPair,
  IMPORT,
  importPrivateKey,
  type KeyAlgorithm,
  thumbprint,
} from "../crypto/keys";
import { CA_KEY_ALGORITHM, createCaCertificate, issueLeafCertificate, parseCertificate } from "../crypto/x509";
import type { Db } from "../db/client";
import { type ServiceKey, serviceKeys, type TokenAuthority, tokenAuthorities } from "../db/schema";
import { KEYWARD_SERVICE } from "../domain/trust";
import { type Actor, auditInsert, SYSTEM_ACTOR } from "./audit";
import { APPROVAL } from "./serviceKeys";

/*
 * keyward's own token-signing keys: service keys of service "keyward" whose private key is
 * sealed at rest (AES-GCM under KEYWARD_KEK) and whose leaf certificate is signed by the
 * long-lived token CA. A key signs for SIGNING_KEY_LIFETIME; a new one takes over
 * ROTATE_BEFORE its end, and the old one stays published until it expires, far beyond the
 * lifetime of any token it signed.
 */
const DAY_MS = 86_400_000;
export const SIGNING_KEY_LIFETIME_MS = 30 * DAY_MS;
export const ROTATE_BEFORE_MS = 7 * DAY_MS;
export const CA_LIFETIME_MS = 10 * 365 * DAY_MS;
const CLOCK_SKEW_MS = 5 * 60_000;

// ---- token CA ---------------------------------------------------------------------------

/** The CA that signs new leaf certificates: the newest one that outlives a signing key. */
export async function ensureTokenCa(db: Db, config: Config, now = new Date()): Promise<TokenAuthority> {
  const [ca] = await db
    .select()
    .from(tokenAuthorities)
    .where(gt(tokenAuthorities.expiresAt, new Date(now.getTime() + 2 * SIGNING_KEY_LIFETIME_MS)))
    .orderBy(desc(tokenAuthorities.createdAt))
    .limit(1);
  if (ca) return ca;
  const id = crypto.randomUUID();
  const keys = await generateKeyPair(CA_KEY_ALGORITHM);
  const notAfter = new Date(now.getTime() + CA_LIFETIME_MS);
  const cert = await createCaCertificate(
    keys,
    `keyward token CA ${config.issuer}`,
    new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter,
  );
  const { pkcs8 } = await exportPems(keys);
  const row: TokenAuthority = {
    id,
    certificatePem: cert.toString("pem"),
    privateKeyEnc: await seal(config.kek, pkcs8, `ca:${id}`),
    createdAt: now,
    expiresAt: notAfter,
  };
  await db.batch([
    db.insert(tokenAuthorities).values(row),
    auditInsert(db, SYSTEM_ACTOR, {
      kind: "token_ca.create",
      targetType: "token_ca",
      targetId: id,
      metadata: { notAfter: notAfter.toISOString() },
    }),
  ]);
  return row;
}

/** Every unexpired CA certificate, oldest first: the bundle a registry trusts. */
export async function tokenCaBundle(db: Db, now = new Date()): Promise<string> {
  const rows = await db
    .select({ pem: tokenAuthorities.certificatePem })
    .from(tokenAuthorities)
    .where(gt(tokenAuthorities.expiresAt, now))
    .orderBy(asc(tokenAuthorities.createdAt));
  return rows.map((r) => r.pem).join("");
}

// ---- signing keys -----------------------------------------------------------------------

/** Creates a signing key with a leaf certificate from the CA; approved automatically. */
export async function createSigningKey(
  db: Db,
  config: Config,
  now = new Date(),
  alg: KeyAlgorithm = config.signingAlgorithm,
  actor: Actor = SYSTEM_ACTOR,
) {
  const ca = await ensureTokenCa(db, config, now);
  const caKey = await crypto.subtle.importKey(
    "pkcs8",
    await open(config.kek, ca.privateKeyEnc, `ca:${ca.id}`),
    IMPORT[CA_KEY_ALGORITHM],
    false,
    ["sign"],
  );
  const pair = await generateKeyPair(alg);
  const jwk = await exportPublicJwk(pair.publicKey);
  const kid = await thumbprint(jwk);
  const expiresAt = new Date(now.getTime() + SIGNING_KEY_LIFETIME_MS);
  const leaf = await issueLeafCertificate({
    ca: parseCertificate(ca.certificatePem),
    caKey,
    publicKey: pair.publicKey,
    subject: `keyward token signing key ${kid}`,
    notBefore: new Date(now.getTime() - CLOCK_SKEW_MS),
    notAfter: expiresAt,
  });
  const { pkcs8 } = await exportPems(pair);
  const key: ServiceKey = {
    kid,
    service: KEYWARD_SERVICE,
    name: "keyward token signing key",
    alg,
    jwk,
    metadata: { created_by: "keyward", ca: ca.id },
    createdAt: now,
    expiresAt,
    // Rotation is enforced by the rotateSigningKeys cron, so no overdue flag is wanted here.
    rotationDurationSeconds: null,
    approvalType: APPROVAL.automatic,
    approver: null,
    approvedAt: now,
    approvalNotes: "",
    privateKeyEnc: await seal(config.kek, pkcs8, `kid:${kid}`),
    certificate: toBase64(new Uint8Array(leaf.rawData)),
    flaggedAt: null,
  };
  await db.batch([
    db.insert(serviceKeys).values(key),
    auditInsert(db, actor, {
      kind: "signing_key.create",
      targetType: "service_key",
      targetId: kid,
      metadata: { alg, expiresAt: expiresAt.toISOString(), ca: ca.id },
    }),
  ]);
  return key;
}

/** The newest keyward key with a private key that is still good for at least `minRemainingMs`. */
async function newestSigningKey(db: Db, now: Date, minRemainingMs: number): Promise<ServiceKey | undefined> {
  const [key] = await db
    .select()
    .from(serviceKeys)
    .where(
      and(
        eq(serviceKeys.service, KEYWARD_SERVICE),
        isNotNull(serviceKeys.privateKeyEnc),
        isNotNull(serviceKeys.approvedAt),
        gt(serviceKeys.expiresAt, new Date(now.getTime() + minRemainingMs)),
      ),
    )
    .orderBy(desc(serviceKeys.createdAt))
    .limit(1);
  return key;
}

/** Cron: a new signing key once the current one is within ROTATE_BEFORE of its end. */
export async function rotateSigningKeysIfDue(db: Db, config: Config, now = new Date()): Promise<ServiceKey | null> {
  if (await newestSigningKey(db, now, ROTATE_BEFORE_MS)) return null;
  const key = await createSigningKey(db, config, now);
  invalidateSigner();
  return key;
}

/** Bootstrap: the token CA and a first signing key exist before anything reads or signs. */
export async function ensureSigningKey(db: Db, config: Config, now = new Date()): Promise<void> {
  if (!(await newestSigningKey(db, now, 0))) await createSigningKey(db, config, now);
}

/**
 * Rotate now (superuser): a new key signs every token from now on — at once in this isolate,
 * within SIGNER_CACHE_MS in others. Older keys stay published until the tokens they signed
 * have expired (retireSupersededSigningKeys).
 */
export async function rotateSigningKeyNow(db: Db, config: Config, actor: Actor, alg: KeyAlgorithm = config.signingAlgorithm) {
  const key = await createSigningKey(db, config, new Date(), alg, actor);
  invalidateSigner();
  return key;
}

/** How long a key stays published after a newer key took over: every token it signed has expired by then. */
export function retirementDelayMs(config: Pick<Config, "tokenTtlSeconds">): number {
  return (config.tokenTtlSeconds + TOKEN_LEEWAY_SECONDS) * 1000 + SIGNER_CACHE_MS;
}

export type SigningKeyState = "active" | "retiring";

/** keyward's published signing keys, newest first: the one that signs, and those retiring. */
export async function listSigningKeys(db: Db, now = new Date()) {
  const keys = await db
    .select()
    .from(serviceKeys)
    .where(and(eq(serviceKeys.service, KEYWARD_SERVICE), isNotNull(serviceKeys.approvedAt), gt(serviceKeys.expiresAt, now)))
    .orderBy(desc(serviceKeys.createdAt));
  return keys.map((key, i) => ({ key, state: (i === 0 ? "active" : "retiring") as SigningKeyState }));
}

/**
 * Cron: a key that a newer key replaced expires once every token it could have signed has
 * expired (its successor's creation + token lifetime + leeway + signer cache), so a rotated
 * or compromised key leaves the JWKS within minutes, not at its natural end.
 */
export async function retireSupersededSigningKeys(db: Db, config: Config, now = new Date()): Promise<number> {
  const [newest] = await listSigningKeys(db, now);
  if (!newest) return 0;
  const retireAt = new Date(newest.key.createdAt.getTime() + retirementDelayMs(config));
  const retired = await db
    .update(serviceKeys)
    .set({ expiresAt: retireAt })
    .where(
      and(
        eq(serviceKeys.service, KEYWARD_SERVICE),
        lt(serviceKeys.createdAt, newest.key.createdAt),
        gt(serviceKeys.expiresAt, retireAt),
      ),
    )
    .returning({ kid: serviceKeys.kid });
  return retired.length;
}

interface Signer {
  kid: string;
  alg: KeyAlgorithm;
  privateKey: CryptoKey;
  x5c: string[];
  expiresAt: number;
  loadedAt: number;
}

// Per-isolate cache: /v2/auth signs without a D1 read while the key is fresh.
let signer: Signer | null = null;
const SIGNER_CACHE_MS = 60_000;
/** A signing key must outlive every token it signs by this much (verifiers' clock leeway). */
const TOKEN_LEEWAY_SECONDS = 120;

export function invalidateSigner() {
  signer = null;
}

async function currentSigner(db: Db, config: Config, minRemainingMs: number): Promise<Signer> {
  const now = Date.now();
  if (signer && now - signer.loadedAt < SIGNER_CACHE_MS && signer.expiresAt - now > minRemainingMs) return signer;
  const key = (await newestSigningKey(db, new Date(now), minRemainingMs)) ?? (await createSigningKey(db, config, new Date(now)));
  const alg = key.alg as KeyAlgorithm;
  signer = {
    kid: key.kid,
    alg,
    privateKey: await importPrivateKey(await open(config.kek, key.privateKeyEnc!, `kid:${key.kid}`), alg),
    x5c: [key.certificate!],
    expiresAt: key.expiresAt!.getTime(),
    loadedAt: now,
  };
  return signer;
}

/**
 * Signs a JWT with the current key: header {alg, typ, kid (RFC 7638), x5c: [leaf]}. The key
 * must outlive the token (plus leeway), so a token never outlives its key's publication.
 */
export async function signJwt(db: Db, config: Config, claims: JWTPayload, lifetimeSeconds: number, typ: string) {
  const current = await currentSigner(db, config, (lifetimeSeconds + TOKEN_LEEWAY_SECONDS) * 1000);
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: current.alg, typ, kid: current.kid, x5c: current.x5c })
    .sign(current.privateKey);
  return { token, kid: current.kid };
}
