import { asc, eq } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { type Registry, registries } from "../db/schema";
import { isNarrowed, type Principal } from "../domain/access";
import { reservedNames } from "../domain/trust";
import { badRequest, conflict, forbidden, notFound } from "../errors";
import { type Actor, auditInsert } from "./audit";
import { isUniqueViolation } from "./users";

/*
 * Registries (IONOS Container Registry's resource): a name and the `service` its registry
 * server sends to /v2/auth (IONOS calls it the hostname). Superusers create them; the creator
 * and any superuser manage them and their tokens.
 */

/** Superusers and the owner manage a registry — never through a narrowed credential. */
export function canManage(principal: Principal, registry: Registry): boolean {
  if (isNarrowed(principal)) return false;
  return principal.user.superuser || registry.ownerId === principal.user.id;
}

export async function getRegistry(db: Db, id: string): Promise<Registry> {
  const [registry] = await db.select().from(registries).where(eq(registries.id, id));
  if (!registry) throw notFound(`Registry ${id} not found`);
  return registry;
}

/** The registry, if the caller may manage it; someone else's is "not found". */
export async function getManagedRegistry(db: Db, principal: Principal, id: string): Promise<Registry> {
  const registry = await getRegistry(db, id);
  if (!canManage(principal, registry)) throw notFound(`Registry ${id} not found`);
  return registry;
}

export async function listRegistries(db: Db, principal: Principal): Promise<Registry[]> {
  const rows = await db.select().from(registries).orderBy(asc(registries.name));
  return rows.filter((r) => canManage(principal, r));
}

/** keyward's own issuer and audience are not registry services (a token for them would open keyward). */
function assertRegistryService(hostname: string, config: Pick<Config, "issuer" | "audience">) {
  if (reservedNames(config).has(hostname)) throw badRequest(`"${hostname}" is keyward itself and cannot be a registry's service`);
}

export async function createRegistry(
  db: Db,
  config: Config,
  actor: Actor,
  principal: Principal,
  input: { name: string; hostname: string },
): Promise<Registry> {
  if (!principal.user.superuser) throw forbidden("Only superusers create registries");
  if (isNarrowed(principal)) throw forbidden("A key narrowed by scopes or an expiry cannot create registries");
  assertRegistryService(input.hostname, config);
  const registry: Registry = {
    id: crypto.randomUUID(),
    name: input.name,
    hostname: input.hostname,
    ownerId: principal.user.id,
    createdAt: new Date(),
    createdBy: principal.user.username,
    updatedAt: null,
    updatedBy: null,
  };
  try {
    await db.batch([
      db.insert(registries).values(registry),
      auditInsert(db, actor, {
        kind: "registry.create",
        targetType: "registry",
        targetId: registry.id,
        metadata: { name: registry.name, hostname: registry.hostname },
      }),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict("A registry with that name or hostname exists already");
    throw err;
  }
  return registry;
}

export async function updateRegistry(
  db: Db,
  config: Config,
  actor: Actor,
  principal: Principal,
  registry: Registry,
  changes: { hostname?: string },
) {
  if (changes.hostname !== undefined) {
    // The service is what every token of the registry is valid for: moving it to another
    // registry's service (or the default one) is a superuser's decision, as creating it is.
    if (!principal.user.superuser) throw forbidden("Only superusers change a registry's hostname");
    assertRegistryService(changes.hostname, config);
  }
  const set: Partial<Registry> = { updatedAt: new Date(), updatedBy: actor.name };
  if (changes.hostname !== undefined) set.hostname = changes.hostname;
  try {
    const [updated] = await db.batch([
      db.update(registries).set(set).where(eq(registries.id, registry.id)).returning(),
      auditInsert(db, actor, {
        kind: "registry.update",
        targetType: "registry",
        targetId: registry.id,
        metadata: { changed: Object.keys(changes) },
      }),
    ]);
    if (!updated[0]) throw notFound(`Registry ${registry.id} not found`);
    return updated[0];
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict("A registry with that hostname exists already");
    throw err;
  }
}

/** Deletes the registry and, through the foreign key, all its tokens, in one batch. */
export async function deleteRegistry(db: Db, actor: Actor, registry: Registry) {
  await db.batch([
    db.delete(registries).where(eq(registries.id, registry.id)),
    auditInsert(db, actor, {
      kind: "registry.delete",
      targetType: "registry",
      targetId: registry.id,
      metadata: { name: registry.name },
    }),
  ]);
}
