import type { SluiceConfig } from '../../../src/config/types.js';
import { SQLITE_PARSER } from '../../helpers/sqlite-parser.js';

/** A normalized config built by hand, so validator tests do not depend on the config loader. */
export function validatorConfig(overrides: Partial<SluiceConfig['limits']> = {}): SluiceConfig {
  return {
    server: { host: '127.0.0.1', port: 0, bodyLimit: 1 << 20, trustProxy: false, drainDelayMs: 0, requestTimeoutMs: 30_000 },
    auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'], clockTolerance: 5, cacheSize: 100 }, claims: { role: 'role', tenant: 'tenant_id', user: 'sub' } },
    connections: {
      main: { dialect: 'postgres', url: 'postgres://localhost/test', max: 2, schema: 'app', idleTimeoutMs: 0, connectionTimeoutMs: 1000 },
    },
    limits: {
      queryTimeout: 1000, rateLimitPerUser: 0, rateLimitPerIP: 0, maxRows: 100, maxResponseBytes: 1 << 20, maxRelationDepth: 4, maxFilterNesting: 8,
      maxSqlLength: 100_000, maxParams: 1000, maxJsonDepth: 64, maxSqlTokens: 50_000, maxSqlNodes: 60_000, maxSetOperations: 50, maxTableReferences: 128,
      maxValueGrowth: 1024, maxPatternLength: 100, maxPadLength: 4096, ...overrides,
    },
    workers: { threads: 1, poolIdleCloseMs: 300_000 },
    queue: { maxWaiting: 10, maxWaitMs: 1000, prefix: 'sluice', resultTtlMs: 60_000, maxStoredJobs: 10_000, maxStoredJobsPerTenant: 500, maxStoredJobsPerUser: 100, lockDurationMs: 10_000 },
    sql: { allowFunctions: [], allowTypes: [], cacheSize: 100, sqliteParser: SQLITE_PARSER },
    logging: { level: 'silent' },
    health: { intervalMs: 0, failureThreshold: 5, cooldownMs: 5000, maxCooldownMs: 60_000 },
    observability: { metrics: { enabled: true, maxTenantLabels: 100 }, audit: { destination: 'log' } },
    permissions: {
      member: {
        main: {
          customers: {
            select: { columns: ['id', 'tenant_id', 'name', 'email'], filter: { tenant_id: '$claims.tenant_id' } },
            insert: { columns: ['name', 'email'], set: { tenant_id: '$claims.tenant_id' } },
            update: { columns: ['name', 'email'], filter: { tenant_id: '$claims.tenant_id' } },
            delete: { filter: { tenant_id: '$claims.tenant_id' } },
          },
          orders: {
            select: { columns: '*', filter: { and: [{ tenant_id: '$claims.tenant_id' }, { status: { ne: 'deleted' } }] } },
            insert: { columns: ['customer_id', 'total'], set: { tenant_id: '$claims.tenant_id' } },
          },
          'other.things': { select: { columns: ['id'], filter: { owner: { in: '$claims.groups' } } } },
        },
      },
      reader: { main: { customers: { select: { columns: ['id', 'name'] } } } },
    },
  };
}
