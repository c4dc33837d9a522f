import type { Config } from "../config";
import { generateSecret, hashSecret, type SecretPrefix, secretHashes } from "../crypto/secrets";

/**
 * A new secret of a kind, with what is stored of it: its keyed hash under the current pepper
 * and that pepper's version. The secret itself goes to the caller once and nowhere else.
 */
export async function newSecret(prefix: SecretPrefix, config: Pick<Config, "peppers">) {
  const secret = generateSecret(prefix);
  const pepper = config.peppers.current;
  return { secret, secretHash: await hashSecret(secret, pepper), pepperVersion: pepper.version };
}

/** The hashes to look a presented secret up by: one per configured pepper, current first. */
export function lookupHashes(secret: string, config: Pick<Config, "peppers">): Promise<string[]> {
  return secretHashes(secret, config.peppers);
}
