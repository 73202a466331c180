/** The demo's config: one connection, one `member` role scoped to its tenant. */
import { randomBytes } from 'node:crypto';
import { DEMO_SCHEMA } from './schema.js';

const tenantFilter = { tenant_id: '$claims.tenant_id' };
const tenantPreset = { tenant_id: '$claims.tenant_id' };

export function demoConfig(databaseUrl: string, port: number): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port },
    // A fresh secret per run: tokens from an earlier run stop working, as they should.
    auth: { jwt: { secret: randomBytes(32).toString('base64url'), algorithms: ['HS256'] } },
    connections: { main: { url: databaseUrl, schema: DEMO_SCHEMA, max: 5 } },
    permissions: {
      member: {
        main: {
          customers: {
            select: { columns: ['id', 'tenant_id', 'name', 'email'], filter: tenantFilter },
            insert: { columns: ['name', 'email'], set: tenantPreset },
            update: { columns: ['name', 'email'], filter: tenantFilter },
            delete: { filter: tenantFilter },
          },
          orders: {
            select: { columns: '*', filter: tenantFilter },
            insert: { columns: ['customer_id', 'total'], set: tenantPreset },
          },
        },
      },
    },
  };
}
