import { ApiError } from "../errors";
import { type AccessContext, ROLE_ACTIONS, type Role, type Scope } from "./access";
import { globMatches, isRepositoryName } from "./repositories";

/*
 * Access decisions for the Docker token protocol, on exactly the names the registry will
 * check. Actions the caller may not have are dropped (the entry stays with fewer actions),
 * not refused: that is what registry clients expect.
 */

/** One requested or granted entry of a token's `access` claim. */
export interface AccessEntry {
  type: "repository" | "registry";
  name: string;
  actions: string[];
}

const ACTIONS = new Set(["pull", "push", "delete", "*"]);

/** Parses `repository:<name>:<actions>` and `registry:catalog:*` (space-separated too); 400 on bad syntax. */
export function parseScopes(raw: string[]): AccessEntry[] {
  const merged = new Map<string, AccessEntry>();
  for (const scope of raw.flatMap((s) => s.split(" ")).filter(Boolean)) {
    // The name is everything between the type and the last colon; names have no colons.
    const match = /^(repository|registry):([^:]+):([^:]*)$/.exec(scope);
    if (!match) throw new ApiError("bad_request", `Invalid scope: ${scope}`);
    const [, type, name, actionList] = match as unknown as [string, AccessEntry["type"], string, string];
    const actions = actionList.split(",").filter(Boolean);
    if (actions.length === 0 || actions.some((a) => !ACTIONS.has(a))) {
      throw new ApiError("bad_request", `Invalid actions in scope: ${scope}`);
    }
    if (type === "registry" && name !== "catalog") throw new ApiError("bad_request", `Invalid scope: ${scope}`);
    if (type === "repository" && !isRepositoryName(name)) {
      throw new ApiError("bad_request", `Invalid repository name in scope: ${scope}`);
    }
    const key = `${type}:${name}`;
    const entry = merged.get(key) ?? { type, name, actions: [] };
    for (const a of actions) if (!entry.actions.includes(a)) entry.actions.push(a);
    merged.set(key, entry);
  }
  return [...merged.values()];
}

/** Whether a credential's narrowing lets `action` through on `type`/`name` (null = no narrowing). */
function narrowingAllows(narrowing: Scope[] | null, type: Scope["type"], name: string, action: string): boolean {
  if (narrowing === null) return true;
  return narrowing.some((s) => s.type === type && globMatches(s.name, name) && s.actions.includes(action));
}

/**
 * The actions `ctx` may take on repository `name`, from those requested (never more): public
 * pull for anyone, and the user's own rights — `admin` on `<username>/*`, everything for a
 * superuser, plus grants — each let through only where the credential's narrowing allows it.
 */
export function allowedActions(ctx: AccessContext, name: string, requested: string[]): string[] {
  const isPublic = ctx.publicPatterns.some((p) => globMatches(p, name));
  const roles: Role[] = [];
  if (ctx.user) {
    if (ctx.user.superuser || name.startsWith(`${ctx.user.username}/`)) roles.push("admin");
    for (const grant of ctx.grants) if (globMatches(grant.pattern, name)) roles.push(grant.role);
  }
  const own = new Set(roles.flatMap((role) => ROLE_ACTIONS[role]));
  return requested.filter(
    (action) =>
      (action === "pull" && isPublic) || (own.has(action) && narrowingAllows(ctx.narrowing, "repository", name, action)),
  );
}

/** What each requested entry may keep; the catalog lists every repository: superusers only. */
export function grantAccess(ctx: AccessContext, requested: AccessEntry[]): AccessEntry[] {
  return requested.map((entry) => {
    if (entry.type === "registry") {
      const ok = ctx.user?.superuser === true && narrowingAllows(ctx.narrowing, "registry", entry.name, "*");
      return { ...entry, actions: ok ? entry.actions.filter((a) => a === "*") : [] };
    }
    return { ...entry, actions: allowedActions(ctx, entry.name, entry.actions) };
  });
}
