/** The names the config accepts for columns, tables, schemas and database roles. */

/**
 * Unquoted SQL identifiers only: the validator compares names textually, and a name that needs
 * quoting in one place and not in another is how permission checks get bypassed.
 */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** `table` or `schema.table`. */
export const TABLE_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/** Connection names appear in request bodies and logs; keep them boring. */
export const CONNECTION_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,62}$/;

/** `$claims.a.b` names payload.a.b. */
export const CLAIM_REF = /^\$claims\.[^.\s]+(\.[^.\s]+)*$/;

/** Permission keys "@<tier>" apply to every connection a tier's tenants are routed to. */
export const TIER_PREFIX = '@';
