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

/**
 * A claim reference (src/auth/claim-lookup.ts): the claim's name as the token spells it, nested keys
 * joined by dots (`tenant_id`, `org.id`, `https://app.example/tenant`); no empty part, no whitespace,
 * at most MAX_CLAIM_PARTS parts — so every way of reading one is within the depth the lookup indexes.
 */
export const MAX_CLAIM_PARTS = 32;
const CLAIM_REFERENCE_SOURCE = String.raw`[^.\s]+(?:\.[^.\s]+){0,${MAX_CLAIM_PARTS - 1}}`;
export const CLAIM_REFERENCE = new RegExp(`^${CLAIM_REFERENCE_SOURCE}$`);

/** `$claims.<reference>` in filters and presets. */
export const CLAIM_REF = new RegExp(String.raw`^\$claims\.${CLAIM_REFERENCE_SOURCE}$`);

/** A role name, or a template whose `{<reference>}` parts (no braces inside) are filled from the claims per lease. */
const ROLE_PLACEHOLDER = String.raw`\{[^.\s{}]+(?:\.[^.\s{}]+){0,${MAX_CLAIM_PARTS - 1}}\}`;
export const DB_ROLE = new RegExp(String.raw`^(?=.{1,200}$)(?:[A-Za-z_]|${ROLE_PLACEHOLDER})(?:[A-Za-z0-9_]|${ROLE_PLACEHOLDER})*$`);

/** Permission keys "@<tier>" apply to every connection a tier's tenants are routed to. */
export const TIER_PREFIX = '@';
