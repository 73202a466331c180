/**
 * `dbRole` templates: "tenant_{tenant_id}" names a database role per tenant on one shared pool. Each
 * `{ref}` is a claim reference read as "$claims.<ref>" is (`{app.org}`, `{https://app.example/t}`);
 * its value must be letters, digits and _ only, and the whole result a plain identifier, or the
 * request is refused (CLAIM_MISSING). The role is then bound as a parameter of
 * set_config('role', …, true), so it lasts for the one transaction of the lease.
 */
import { IDENTIFIER } from '../config/identifiers.js';
import { SluiceError } from '../errors.js';
import { resolveClaim } from './claims.js';

const PLACEHOLDER = /\{([^{}\s]+)\}/g;
const CLAIM_VALUE = /^[A-Za-z0-9_]+$/;

export function isDbRoleTemplate(dbRole: string): boolean {
  return dbRole.includes('{');
}

export function resolveDbRole(dbRole: string, claims: Record<string, unknown>): string {
  if (!isDbRoleTemplate(dbRole)) return dbRole;
  const role = dbRole.replace(PLACEHOLDER, (_, ref: string) => {
    // The same claim lookup as "$claims.…" in row filters (missing: CLAIM_MISSING; two readings: CLAIM_AMBIGUOUS).
    const v = resolveClaim(claims, ref);
    if ((typeof v !== 'string' && typeof v !== 'number') || !CLAIM_VALUE.test(String(v))) {
      throw new SluiceError('CLAIM_MISSING', `The claim "${ref}" that names the database role is missing or not letters, digits and _`);
    }
    return String(v);
  });
  if (!IDENTIFIER.test(role)) throw new SluiceError('CLAIM_MISSING', 'The database role built from the claims is not a plain identifier of at most 63 characters');
  return role;
}
