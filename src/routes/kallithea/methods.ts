import { z } from "@hono/zod-openapi";
import type { Config } from "../../config";
import { isPasswordText, PASSWORD_TEXT_MESSAGE } from "../../crypto/password";
import type { Db } from "../../db/client";
import type { ApiKey, User } from "../../db/schema";
import { type Actor, isNarrowed, mayChangePasswordOf, type Principal } from "../../domain/access";
import { USERNAME_PATTERN } from "../../domain/names";
import { ApiError } from "../../errors";
import {
  apiKeyOwnerId,
  createApiKey,
  expiryOfLifetime,
  FOREVER,
  isExpired,
  listApiKeys,
  MAX_LIFETIME_MINUTES,
  narrowToCallerKey,
  resetBuiltinApiKey,
  revokeApiKey,
} from "../../services/apiKeys";
import { listGrants, listPublicRepositories } from "../../services/permissions";
import { type DeprecatedView, liveDeprecatedSecrets } from "../../services/rotation";
import { createUser, deleteUser, findUser, findUserById, listUsers, UserConflict, updateUser } from "../../services/users";
import { isPrintable } from "../common";

/*
 * The methods of keyward's Kallithea-compatible JSON-RPC API: Kallithea's user methods with
 * Kallithea's shapes and strings, plus keyward's key methods. kallithea-api sends every
 * argument as a string, so numbers and booleans are accepted as strings too.
 */

/** A refusal the caller reads verbatim in the envelope's `error`. */
export class RpcError extends Error {}

export interface RpcContext {
  db: Db;
  config: Config;
  actor: Actor;
  principal: Principal;
  /** The caller's address (get_ip). */
  client: string;
  userAgent: string | null;
}

interface Arg {
  schema: z.ZodType;
  optional?: boolean;
}

interface Method {
  args: Record<string, Arg>;
  /** Only an unnarrowed superuser key may call it. */
  admin?: boolean;
  run(ctx: RpcContext, args: Record<string, unknown>): Promise<unknown>;
}

// Kallithea's str2bool: what its API takes for true and false.
const TRUE = new Set(["true", "yes", "on", "y", "t", "1"]);
const FALSE = new Set(["false", "no", "off", "n", "f", "0"]);

// A JSON number is taken as text only when it is a plain integer (1e400 is no password).
const Text = z.preprocess((v) => (Number.isSafeInteger(v) ? String(v) : v), z.string({ error: "must be a string" }));
const PRINTABLE = "must be printable text, without a keyward secret in it";
const Bool = z.preprocess(
  (v) => {
    if (typeof v === "string" && TRUE.has(v.toLowerCase())) return true;
    if (typeof v === "string" && FALSE.has(v.toLowerCase())) return false;
    return v === 1 ? true : v === 0 ? false : v;
  },
  z.boolean({ error: "must be a boolean (true or false)" }),
);
const Int = z.preprocess(
  (v) => (typeof v === "string" && /^\s*-?\d{1,15}\s*$/.test(v) ? Number(v) : v),
  z.number({ error: "must be a whole number" }).int("must be a whole number"),
);

const Printable = (max: number) =>
  Text.pipe(z.string().trim().min(1, "must not be empty").max(max).refine(isPrintable, PRINTABLE));
const UserRef = Printable(254);
const Name = Text.pipe(z.string().trim().max(255).refine(isPrintable, PRINTABLE));
const Username = Text.pipe(
  z
    .string()
    .transform((s) => s.toLowerCase())
    .pipe(z.string().regex(USERNAME_PATTERN, "must be 2-63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")),
);
const Email = Text.pipe(z.email("must be an email address").max(254));
const Password = Text.pipe(
  z.string().min(8, "must be at least 8 characters").max(1024).refine(isPasswordText, PASSWORD_TEXT_MESSAGE),
);
// keyward has only internal accounts: Kallithea's default is accepted, nothing else.
const ExternType = Text.pipe(z.literal("internal", "keyward has only internal users: must be internal"));
const ExternName = Text.pipe(z.string().max(255));
const Lifetime = Int.pipe(
  z
    .number()
    .refine(
      (n) => n === FOREVER || (n > 0 && n <= MAX_LIFETIME_MINUTES),
      `must be -1 (forever) or a number of minutes from 1 to ${MAX_LIFETIME_MINUTES}`,
    ),
);
const KeyId = Text.pipe(z.uuid("must be an API key id (a UUID)"));

const isAdmin = (p: Principal) => p.user.superuser && !isNarrowed(p);

/** A user by id or username (Kallithea's get_user_or_error); an id is never a username. */
async function userOrError(db: Db, ref: string): Promise<User> {
  const user = z.uuid().safeParse(ref).success
    ? await findUserById(db, ref.toLowerCase())
    : USERNAME_PATTERN.test(ref.toLowerCase())
      ? await findUser(db, ref.toLowerCase())
      : undefined;
  if (!user) throw new RpcError(`user \`${ref}\` does not exist`);
  return user;
}

/**
 * Non-admins act only on themselves: Kallithea's own string, answered before any lookup so it
 * never tells whether another user exists.
 */
async function selfOrAdmin(ctx: RpcContext, userid: unknown): Promise<User> {
  const me = ctx.principal.user;
  if (userid === undefined) return me;
  const ref = String(userid).toLowerCase();
  if (!isAdmin(ctx.principal)) {
    if (ref !== me.id && ref !== me.username) throw new RpcError("userid is not the same as your user");
    return me;
  }
  return userOrError(ctx.db, String(userid));
}

/** Kallithea's user API data; since its CVE-2015-0260 fix never keys, last login or IPs. */
export function kallitheaUser(user: User) {
  return {
    user_id: user.id,
    username: user.username,
    firstname: user.firstname ?? "",
    lastname: user.lastname ?? "",
    email: user.email ?? "",
    emails: user.email ? [user.email] : [],
    active: user.enabled,
    admin: user.superuser,
  };
}

const ROLE_PERMISSION = { read: "repository.read", write: "repository.write", admin: "repository.admin" } as const;

async function permissionsOf(db: Db, user: User) {
  const [grants, publicRepos] = await Promise.all([listGrants(db, user.id), listPublicRepositories(db)]);
  const repositories: Record<string, string> = {};
  for (const { pattern } of publicRepos) repositories[pattern] = ROLE_PERMISSION.read;
  for (const { pattern, role } of grants) repositories[pattern] = ROLE_PERMISSION[role];
  repositories[`${user.username}/*`] = ROLE_PERMISSION.admin;
  return {
    global: user.superuser ? ["hg.admin"] : [],
    repositories,
    repositories_groups: {},
    user_groups: {},
  };
}

/** An API key as the RPC shows it: never its secret. `expires` is Kallithea's (−1 or unix seconds). */
export function kallitheaKey(key: ApiKey, deprecated: DeprecatedView[] = []) {
  return {
    key_id: key.id,
    kind: key.kind,
    description: key.label,
    scopes: key.scopes,
    created_on: key.createdAt.toISOString(),
    expires: key.expiresAt ? Math.floor(key.expiresAt.getTime() / 1000) : FOREVER,
    expires_at: key.expiresAt?.toISOString() ?? null,
    expired: isExpired(key),
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    last_used_ip: key.lastUsedIp,
    // keyward extension: old secrets of a rotation, working until their sunset.
    deprecated_secrets: deprecated.map((d) => ({
      id: d.id,
      deprecated_at: d.deprecatedAt,
      sunset_at: d.sunsetAt,
      last_used_at: d.lastUsedAt,
      last_used_ip: d.lastUsedIp,
    })),
  };
}

/** Service conflicts in Kallithea's words. */
export function kallitheaConflict(err: unknown): never {
  if (err instanceof UserConflict)
    throw new RpcError(`${err.field === "username" ? "user" : "email"} \`${err.value}\` already exist`);
  throw err;
}

/** The optional profile arguments create_user and update_user share (Kallithea's names). */
const PROFILE_ARGS: Record<string, Arg> = {
  password: { schema: Password, optional: true },
  email: { schema: Email, optional: true },
  firstname: { schema: Name, optional: true },
  lastname: { schema: Name, optional: true },
  active: { schema: Bool, optional: true },
  admin: { schema: Bool, optional: true },
  extern_type: { schema: ExternType, optional: true },
  extern_name: { schema: ExternName, optional: true },
};

export const METHODS: Record<string, Method> = {
  get_user: {
    args: { userid: { schema: UserRef, optional: true } },
    async run(ctx, { userid }) {
      const user = await selfOrAdmin(ctx, userid);
      return { ...kallitheaUser(user), permissions: await permissionsOf(ctx.db, user) };
    },
  },

  get_users: {
    args: {},
    admin: true,
    async run(ctx) {
      return (await listUsers(ctx.db)).map(kallitheaUser);
    },
  },

  create_user: {
    args: { username: { schema: Username }, ...PROFILE_ARGS, email: { schema: Email } },
    admin: true,
    async run(ctx, a) {
      const username = a.username as string;
      // Case-insensitive, as Kallithea: keyward usernames are lower case.
      if (await findUser(ctx.db, username)) throw new RpcError(`user \`${username}\` already exist`);
      const { user, generatedPassword } = await createUser(ctx.db, ctx.config, ctx.actor, {
        username,
        email: a.email as string,
        password: a.password as string | undefined,
        firstname: (a.firstname as string | undefined) ?? null,
        lastname: (a.lastname as string | undefined) ?? null,
        enabled: a.active as boolean | undefined,
        superuser: a.admin as boolean | undefined,
      }).catch(kallitheaConflict);
      return {
        msg: `created new user \`${user.username}\``,
        user: kallitheaUser(user),
        // keyward addition: a generated password is shown once, here.
        ...(generatedPassword ? { password: generatedPassword } : {}),
      };
    },
  },

  update_user: {
    args: { userid: { schema: UserRef }, username: { schema: Username, optional: true }, ...PROFILE_ARGS },
    admin: true,
    async run(ctx, a) {
      const user = await userOrError(ctx.db, a.userid as string);
      if (a.password !== undefined && !mayChangePasswordOf(ctx.principal, user.id)) {
        throw new RpcError("a key cannot change its own user's password; use the password or a browser session");
      }
      // A user owns the namespace named like them: renaming would hand it to someone else.
      if (a.username !== undefined && a.username !== user.username) {
        throw new RpcError("usernames cannot be changed in keyward (a user owns the namespace named like them)");
      }
      const updated = await updateUser(ctx.db, ctx.config, ctx.actor, user.username, {
        email: a.email as string | undefined,
        password: a.password as string | undefined,
        firstname: a.firstname as string | undefined,
        lastname: a.lastname as string | undefined,
        enabled: a.active as boolean | undefined,
        superuser: a.admin as boolean | undefined,
      }).catch(kallitheaConflict);
      return { msg: `updated user ID:${updated.id} ${updated.username}`, user: kallitheaUser(updated) };
    },
  },

  delete_user: {
    args: { userid: { schema: UserRef } },
    admin: true,
    async run(ctx, a) {
      const user = await userOrError(ctx.db, a.userid as string);
      await deleteUser(ctx.db, ctx.actor, user.username);
      return { msg: `deleted user ID:${user.id} ${user.username}`, user: null };
    },
  },

  get_ip: {
    args: { userid: { schema: UserRef, optional: true } },
    async run(ctx, { userid }) {
      await selfOrAdmin(ctx, userid);
      // keyward has no per-user IP allow-lists.
      return { server_ip_addr: ctx.client, user_ips: [] };
    },
  },

  get_api_keys: {
    args: { userid: { schema: UserRef, optional: true } },
    async run(ctx, { userid }) {
      const user = await selfOrAdmin(ctx, userid);
      const keys = await listApiKeys(ctx.db, user);
      const deprecated = await liveDeprecatedSecrets(
        ctx.db,
        "apiKeyId",
        keys.map((k) => k.id),
      );
      return keys.map((k) => kallitheaKey(k, deprecated.get(k.id)));
    },
  },

  create_api_key: {
    args: { description: { schema: Printable(128) }, lifetime: { schema: Lifetime } },
    async run(ctx, a) {
      const { user, lineage } = ctx.principal;
      const input = narrowToCallerKey(lineage, {
        kind: "extra",
        label: a.description as string,
        expiresAt: expiryOfLifetime(a.lifetime as number),
        creatorUa: ctx.userAgent,
      });
      const { key, secret } = await createApiKey(ctx.db, ctx.config, ctx.actor, user, input);
      return { msg: `created new API key \`${key.label}\``, ...kallitheaKey(key), api_key: secret };
    },
  },

  revoke_api_key: {
    args: { key_id: { schema: KeyId } },
    async run(ctx, a) {
      const id = a.key_id as string;
      const { user, lineage } = ctx.principal;
      // A superuser may revoke anyone's key (e.g. a leaked one); others only their own.
      const ownerId = await apiKeyOwnerId(ctx.db, id);
      const owner = ownerId && ownerId !== user.id && isAdmin(ctx.principal) ? await findUserById(ctx.db, ownerId) : user;
      await revokeApiKey(ctx.db, ctx.actor, owner ?? user, id, lineage).catch((err) => {
        if (err instanceof ApiError && err.code === "not_found") throw new RpcError(`API key \`${id}\` does not exist`);
        throw err;
      });
      return { msg: `revoked API key ID:${id}`, key_id: id };
    },
  },

  reset_builtin_api_key: {
    args: {},
    async run(ctx) {
      const { user, lineage } = ctx.principal;
      const { key, secret } = await resetBuiltinApiKey(ctx.db, ctx.config, ctx.actor, user, lineage);
      return { msg: `reset the built-in API key of user \`${user.username}\``, ...kallitheaKey(key), api_key: secret };
    },
  },
};

/**
 * Checks the arguments in Kallithea's order (missing, then unknown) and parses their values;
 * a bad value names the argument.
 */
export function parseArgs(method: Method, given: Record<string, unknown>): Record<string, unknown> {
  for (const [name, arg] of Object.entries(method.args)) {
    if (!arg.optional && !Object.hasOwn(given, name)) throw new RpcError(`Missing non optional \`${name}\` arg in JSON DATA`);
  }
  const unknown = Object.keys(given).filter((name) => !Object.hasOwn(method.args, name));
  if (unknown.length > 0) throw new RpcError(`Unknown ${unknown.map((n) => `\`${n}\``).join(", ")} arg in JSON DATA`);
  const parsed: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    const result = method.args[name]!.schema.safeParse(value);
    if (!result.success) {
      throw new RpcError(`Invalid value for \`${name}\`: ${result.error.issues.map((i) => i.message).join("; ")}`);
    }
    parsed[name] = result.data;
  }
  return parsed;
}

/** The method a caller named, or Kallithea's refusal. */
export function findMethod(name: unknown): Method {
  const text = typeof name === "string" ? name : JSON.stringify(name);
  if (text.startsWith("_")) throw new RpcError("Method not allowed");
  const method = typeof name === "string" && Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (!method) throw new RpcError(`No such method: ${text}`);
  return method;
}

/** Kallithea answers a non-admin's admin call with "Internal server error" (a bug); keyward says why. */
export function assertAllowed(name: string, method: Method, principal: Principal): void {
  if (!method.admin || isAdmin(principal)) return;
  const why = principal.user.superuser ? " (this key is narrowed by scopes or an expiry)" : "";
  throw new RpcError(`method \`${name}\` requires admin rights${why}`);
}
