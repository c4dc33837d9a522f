import type { Hono } from "hono";
import type { AppEnv } from "../env";

/** The superuser pages (users, service keys, registries, signing keys, audit log). */
export function adminPages(_app: Hono<AppEnv>) {}
