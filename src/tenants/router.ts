/**
 * Tenant routing at the edge: the tenant claim → its route → the connection and tier a job runs
 * on. Pure lookups on the request path (static routes, then the directory's last snapshot, then
 * the default); the directory itself is refreshed in the background (directory.ts).
 */
import type { SluiceConfig, TenantRoute, TenantsConfig, TenantStatus } from '../config/types.js';
import { SluiceError } from '../errors.js';

export interface RouteDecision {
  connection: string;
  /** The tenant claim as a string; undefined when the token has none (and there is no routing). */
  tenant?: string;
  tier?: string;
}

/**
 * The routing state requests read: the config whose connections/permissions/tenants are live,
 * and its router. A reload replaces both at once (engine.ts); readers take one snapshot per request.
 */
export interface Routing {
  readonly config: Readonly<SluiceConfig>;
  readonly router: TenantRouter;
}

/** What the directory answers for a tenant: a route, `invalid` (a bad row: refused), or nothing. */
export type DirectoryLookup = (tenant: string) => TenantRoute | 'invalid' | undefined;

export interface TenantRouter {
  /** Throws TENANT_UNKNOWN, TENANT_SUSPENDED, TENANT_MAINTENANCE, CONNECTION_NOT_ROUTED or UNKNOWN_CONNECTION. */
  route(tenant: string | number | undefined, requested: string | undefined): RouteDecision;
}

function checkStatus(s: TenantStatus, tenants: TenantsConfig, what: string): void {
  if (s === 'suspended') throw new SluiceError('TENANT_SUSPENDED', `${what} is suspended`);
  if (s === 'maintenance') {
    throw new SluiceError('TENANT_MAINTENANCE', `${what} is in maintenance; retry later`, { retryAfter: tenants.maintenanceRetryAfter });
  }
}

function unrouted(config: Readonly<SluiceConfig>, requested: string | undefined, tenant: string | undefined): RouteDecision {
  const connection = requested ?? Object.keys(config.connections)[0]!;
  if (!Object.hasOwn(config.connections, connection)) throw new SluiceError('UNKNOWN_CONNECTION', `No connection named "${connection}"`);
  return tenant === undefined ? { connection } : { connection, tenant };
}

/**
 * `directory`: the background directory's lookup, or undefined when none is configured. When a
 * directory is configured but has not loaded yet, it answers by throwing DATABASE_UNAVAILABLE.
 */
export function createTenantRouter(config: Readonly<SluiceConfig>, directory?: DirectoryLookup): TenantRouter {
  const tenants = config.tenants;
  return {
    route(claim, requested) {
      const tenant = claim === undefined ? undefined : String(claim);
      if (!tenants) return unrouted(config, requested, tenant);
      if (tenant === undefined || tenant === '') throw new SluiceError('TENANT_UNKNOWN', 'The token has no tenant claim');
      const own = Object.hasOwn(tenants.routes, tenant) ? tenants.routes[tenant] : directory?.(tenant);
      if (own === 'invalid') throw new SluiceError('TENANT_UNKNOWN', `The directory entry of tenant "${tenant}" is invalid`);
      const route = own ?? tenants.default;
      if (!route) throw new SluiceError('TENANT_UNKNOWN', `No route for tenant "${tenant}"`);
      checkStatus(route.status, tenants, `Tenant "${tenant}"`);
      const tier = route.tier === undefined ? undefined : tenants.tiers[route.tier];
      if (tier) checkStatus(tier.status, tenants, `Tier "${route.tier}"`);
      const connection = route.connection ?? tier?.connection;
      // The config check makes this unreachable for static routes; a directory row may still say so.
      if (connection === undefined || !Object.hasOwn(config.connections, connection)) {
        throw new SluiceError('TENANT_UNKNOWN', `The route of tenant "${tenant}" names no usable connection`);
      }
      if (requested !== undefined && requested !== connection) {
        throw new SluiceError('CONNECTION_NOT_ROUTED', `Tenant "${tenant}" is served by its routed connection, not "${requested}"`);
      }
      return route.tier === undefined ? { connection, tenant } : { connection, tenant, tier: route.tier };
    },
  };
}
