/**
 * The grammar of a keyward username, in one leaf module: config (the bootstrap admin), the
 * auth edge and the user routes all check names against it without importing services.
 */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{1,62}$/;
