import type { Config } from "../config";
import { parseSecret, type SecretPrefix, secretHashes } from "../crypto/secrets";
import type { Actor } from "../domain/access";

/*
 * The public leak report: anyone who finds a keyward secret — a scanner, a stranger — may end
 * it at once, and learns nothing about whether it was valid. Malformed values cost no read;
 * the well-formed ones are ended in one D1 batch (one transaction): per kind, one statement
 * writes a `credential.leaked` audit entry for each matching row (owner, credential, the
 * reporter's address) and one deletes them. Hashes travel as one JSON parameter (json_each),
 * so 1,000 secrets under two peppers are still two bound parameters per statement.
 */

export const MAX_REPORTED_CREDENTIALS = 1000;

interface LeakTable {
  table: string;
  kind: string;
  /** The credential's id (the audit entry's target). */
  id: string;
  /** Whose credential it is (the audit entry's subject). */
  owner: string;
  /** A human handle on the credential for the owner's audit log (never a secret). */
  label: string;
  /** A rotated credential's old secret: it alone ends; the credential and its new secret live on. */
  deprecated?: true;
}

const DEPRECATED_OF = (table: string, column: string, owner: string, label: string): LeakTable => ({
  table: "deprecated_secrets",
  kind: table === "api_keys" ? "api_key" : "registry_token",
  id: `t.${column}`,
  owner: `(SELECT ${owner} FROM ${table} WHERE id = t.${column})`,
  label: `(SELECT ${label} FROM ${table} WHERE id = t.${column})`,
  deprecated: true,
});

/** Where each kind's secrets live: its table and, for rotatable kinds, the deprecated secrets. */
const LEAK_TABLES: Record<SecretPrefix, LeakTable[]> = {
  zak: [
    { table: "api_keys", kind: "api_key", id: "t.id", owner: "t.user_id", label: "t.label" },
    DEPRECATED_OF("api_keys", "api_key_id", "user_id", "label"),
  ],
  krt: [
    { table: "registry_tokens", kind: "registry_token", id: "t.id", owner: "t.created_by_user_id", label: "t.name" },
    DEPRECATED_OF("registry_tokens", "registry_token_id", "created_by_user_id", "name"),
  ],
  krf: [{ table: "refresh_tokens", kind: "refresh_token", id: "t.id", owner: "t.user_id", label: "t.service" }],
  kss: [{ table: "sessions", kind: "session", id: "t.id", owner: "t.user_id", label: "NULL" }],
};

/** The reported values that are well-formed keyward secrets, deduplicated and grouped by kind. */
export function wellFormedByPrefix(values: readonly string[]): Map<SecretPrefix, string[]> {
  const byPrefix = new Map<SecretPrefix, string[]>();
  for (const value of new Set(values)) {
    const prefix = parseSecret(value);
    if (prefix) byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), value]);
  }
  return byPrefix;
}

/** Ends every reported secret that exists; answers how many ended (for tests, never the reporter). */
export async function revokeLeaked(d1: D1Database, config: Config, reporter: Actor, values: readonly string[]): Promise<number> {
  const byPrefix = wellFormedByPrefix(values);
  if (byPrefix.size === 0) return 0;
  const at = Date.now();
  const statements: D1PreparedStatement[] = [];
  for (const [prefix, secrets] of byPrefix) {
    const hashes = (await Promise.all(secrets.map((s) => secretHashes(s, config.peppers)))).flat();
    const byHash = "secret_hash IN (SELECT value FROM json_each(?1))";
    for (const { table, kind, id, owner, label, deprecated } of LEAK_TABLES[prefix]) {
      const which = deprecated ? ", 'deprecatedSecretId', t.id" : "";
      statements.push(
        d1
          .prepare(
            `INSERT INTO audit_log (at, kind, actor_name, subject_user_id, target_type, target_id, ip, request_id, metadata)
             SELECT ?2, 'credential.leaked', 'leak report', ${owner}, '${kind}', ${id}, ?3, ?4,
               json_object('owner', (SELECT username FROM users WHERE id = ${owner}), 'label', ${label}, 'reporter', ?3${which})
             FROM ${table} t WHERE t.${byHash}`,
          )
          .bind(JSON.stringify(hashes), at, reporter.ip, reporter.requestId),
        d1.prepare(`DELETE FROM ${table} WHERE ${byHash}`).bind(JSON.stringify(hashes)),
      );
    }
  }
  const results = await d1.batch(statements);
  return results.filter((_, i) => i % 2 === 1).reduce((sum, r) => sum + (r.meta.changes ?? 0), 0);
}
