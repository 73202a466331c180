/** The demo's config: one connection, one `member` role scoped to its tenant. */
import { randomBytes } from 'node:crypto';
import { DEMO_SCHEMA } from './schema.js';
import type { DemoDatabase } from './setup.js';

const tenantFilter = { tenant_id: '$claims.tenant_id' };
const tenantPreset = { tenant_id: '$claims.tenant_id' };

function demoConnection(db: DemoDatabase): Record<string, unknown> {
  return db.kind === 'sqlite' ? { dialect: 'sqlite', file: db.file } : { url: db.url, schema: DEMO_SCHEMA, max: 5 };
}

export function demoConfig(db: DemoDatabase, port: number): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port },
    // A fresh secret per run: tokens from an earlier run stop working, as they should.
    auth: { jwt: { secret: randomBytes(32).toString('base64url'), algorithms: ['HS256'] } },
    connections: { main: demoConnection(db) },
    // Two threads are plenty for a demo (each SQLite connection is one small process per thread).
    workers: { threads: 2 },
    // As `sluice init` writes it: values are parameters, a quoted literal in the SQL is refused.
    sql: { literals: 'refuse-strings' },
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
