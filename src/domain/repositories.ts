import { z } from "@hono/zod-openapi";

/*
 * The one repository-name grammar (distribution's reference grammar, without a host: the
 * name in a token scope is exactly the name the registry checks — `john.doe/app` is user
 * john.doe's repository, never "host john.doe, repository app"). Globs are the same grammar
 * with `*` allowed inside path components; `*` spans any characters, `/` included.
 */
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const GLOB_COMPONENT = "[a-z0-9*]+(?:(?:[._]|__|-+)[a-z0-9*]+)*";

export const MAX_REPOSITORY_NAME = 255;
export const REPOSITORY_NAME = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
export const REPOSITORY_GLOB = new RegExp(`^${GLOB_COMPONENT}(?:/${GLOB_COMPONENT})*$`);

export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_REPOSITORY_NAME && REPOSITORY_NAME.test(name);
}

/** A repository name or glob (`team/app`, `team/*`, `*`), as grants and scopes name them. */
export const RepositoryGlob = z
  .string()
  .min(1)
  .max(MAX_REPOSITORY_NAME)
  .regex(REPOSITORY_GLOB, "must be a repository name or glob like team/app or team/*");

/** Glob match where `*` spans any characters, `/` included (`team/*` covers `team/a/b`). */
export function globMatches(pattern: string, name: string): boolean {
  if (pattern === "*") return true;
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === name;
  if (!name.startsWith(parts[0]!) || !name.endsWith(parts.at(-1)!)) return false;
  let at = parts[0]!.length;
  const end = name.length - parts.at(-1)!.length;
  for (const middle of parts.slice(1, -1)) {
    const found = name.indexOf(middle, at);
    if (found < 0 || found + middle.length > end) return false;
    at = found + middle.length;
  }
  return at <= end;
}
