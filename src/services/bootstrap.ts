import type { Config } from "../config";
import type { Db } from "../db/client";
import { ensureSigningKey } from "./signingKeys";
import { ensureBootstrapAdmin } from "./users";

let done: Promise<void> | undefined;

/**
 * First-start work, once per isolate: the configured superuser, and keyward's token CA and
 * first signing key — so that reads (JWKS, certs.pem) never write, and a registry can be
 * pointed at keyward before any token was issued. Later signing keys come from the cron.
 */
export function bootstrap(db: Db, config: Config): Promise<void> {
  done ??= (async () => {
    await ensureBootstrapAdmin(db, config);
    await ensureSigningKey(db, config);
  })().catch((err) => {
    done = undefined;
    throw err;
  });
  return done;
}
