/**
 * `tenants`: which connection (and tier) serves each tenant. The tenant is the claim named by
 * auth.claims.tenant; the route decides the connection, so a client cannot pick another tenant's
 * database by naming it in the body. Absent: no routing (the body's `connection`, or the first).
 *
 *   tenants:
 *     default: { connection: main, tier: shared }          # every other tenant (omit: unknown → 403)
 *     tiers:
 *       shared:    { maxConcurrent: 4, maxWaiting: 50 }
 *       dedicated: { maxConcurrent: 8 }
 *     routes:
 *       acme:   { connection: acme_db, tier: dedicated }
 *       globex: { status: suspended }
 *     directory: { connection: main, table: sluice_tenants, refreshMs: 30000 }
 */
import { z } from 'zod';
import { int } from './coerce.js';
import { CONNECTION_NAME, IDENTIFIER, TABLE_KEY } from './identifiers.js';

export const TENANT_STATUSES = ['active', 'suspended', 'maintenance'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

const connectionName = z.string().regex(CONNECTION_NAME, 'must be a connection name (letters, digits, _, -)');
const tierName = z.string().regex(IDENTIFIER, 'must be a tier name (letters, digits, _)');
const status = z.enum(TENANT_STATUSES);

const routeSchema = z.strictObject({
  /** Omitted: the tier's connection. */
  connection: connectionName.optional(),
  tier: tierName.optional(),
  status: status.default('active'),
});

const tierSchema = z.strictObject({
  /** Tenants of this tier whose route names no connection go here. */
  connection: connectionName.optional(),
  /** Per tenant: leases at once, and requests waiting in the tenant's own line beyond that. */
  maxConcurrent: int(1).optional(),
  maxWaiting: int(0).optional(),
  /** Every tenant of the tier (maintenance, suspended) regardless of its own route. */
  status: status.default('active'),
});

export const tenantsSchema = z.strictObject({
  default: routeSchema.optional(),
  tiers: z.record(tierName, tierSchema).default({}),
  /** Tenant id (the claim's value, as a string) → route. */
  routes: z.record(z.string().min(1), routeSchema).default({}),
  /** Per-tenant defaults when the tier sets none (see fairness in docs/tenants.md). */
  maxConcurrent: int(1).optional(),
  maxWaiting: int(0).optional(),
  /** Seconds in the Retry-After of a TENANT_MAINTENANCE answer. */
  maintenanceRetryAfter: int(1, 86_400).default(60),
  /** Routes read from a table (tenant_id, connection, tier, status), refreshed in the background. */
  directory: z
    .strictObject({
      connection: connectionName,
      table: z.string().regex(TABLE_KEY, 'must be "table" or "schema.table"'),
      refreshMs: int(1000).default(30_000),
    })
    .optional(),
});

export type TenantsInput = z.output<typeof tenantsSchema>;
