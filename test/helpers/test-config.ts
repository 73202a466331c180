/** The config every integration suite starts from: the `member` role of the public contract. */
import { PG_TEST_URL } from './skip.js';
import { TEST_JWT_SECRET } from './tokens.js';

export interface ConfigOverrides {
  limits?: Record<string, unknown>;
  workers?: Record<string, unknown>;
  queue?: Record<string, unknown>;
  server?: Record<string, unknown>;
  connection?: Record<string, unknown>;
  sql?: Record<string, unknown>;
}

export function memberPermissions(): Record<string, unknown> {
  const own = { tenant_id: '$claims.tenant_id' };
  return {
    member: {
      main: {
        customers: {
          select: { columns: ['id', 'tenant_id', 'name', 'email'], filter: own },
          insert: { columns: ['name', 'email'], set: { tenant_id: '$claims.tenant_id' } },
          update: { columns: ['name', 'email'], filter: own },
          delete: { filter: own },
        },
        orders: {
          select: { columns: '*', filter: own },
          insert: { columns: ['customer_id', 'total'], set: { tenant_id: '$claims.tenant_id' } },
        },
        order_items: { select: { columns: ['id', 'tenant_id', 'order_id', 'sku', 'qty'], filter: own } },
      },
    },
  };
}

export function testConfig(schema: string, o: ConfigOverrides = {}): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0, ...o.server },
    auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] }, claims: { role: 'role', tenant: 'tenant_id', user: 'sub' } },
    connections: { main: { url: PG_TEST_URL, max: 4, schema, ...o.connection } },
    limits: { queryTimeout: 30000, rateLimitPerUser: 0, rateLimitPerIP: 0, maxRows: 10000, maxRelationDepth: 4, maxFilterNesting: 8, ...o.limits },
    workers: { threads: 2, ...o.workers },
    queue: { maxWaiting: 1000, maxWaitMs: 10000, ...o.queue },
    logging: { level: 'silent' },
    permissions: memberPermissions(),
    ...(o.sql && { sql: o.sql }),
  };
}
