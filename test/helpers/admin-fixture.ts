/**
 * A running engine with server.adminToken over a fresh Postgres schema (a `notes` table, tenant
 * routes and tiers), for the operator console's suites. `queue: true` runs it in queue mode.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createEngine, type Engine } from '../../src/engine.js';
import { PG_URL, REDIS_URL } from './services.js';
import { signToken, TEST_JWT_SECRET } from './tokens.js';

export interface AdminFixture {
  url: string;
  engine: Engine;
  adminToken: string;
  schema: string;
  /** A member token of `tenant`. */
  token(tenant: string): Promise<string>;
  close(): Promise<void>;
}

export async function startAdminFixture(opts: { queue?: boolean; adminToken?: string | null } = {}): Promise<AdminFixture> {
  const hex = randomBytes(5).toString('hex');
  const schema = `t_${hex}_admin`;
  const adminToken = opts.adminToken === undefined ? `admin-${hex}-0123456789abcdef0123456789` : opts.adminToken;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await admin.query(`create schema ${schema}`);
  await admin.query(`create table ${schema}.notes (id serial primary key, tenant_id text not null, body text not null)`);
  await admin.query(`create table ${schema}.secrets (id serial primary key, tenant_id text not null, body text not null)`);
  await admin.query(`insert into ${schema}.notes (tenant_id, body) values ('acme', 'a1'), ('globex', 'g1')`);
  // The tenant directory: hooli routed by it, a row naming no real connection, and acme (its static route wins).
  await admin.query(`create table ${schema}.sluice_tenants (tenant_id text primary key, connection text, tier text, status text)`);
  await admin.query(`insert into ${schema}.sluice_tenants values ('hooli', 'main', 'gold', 'maintenance'), ('broken', 'nope', null, null), ('acme', 'main', null, 'suspended')`);
  const engine = createEngine(
    {
      server: adminToken === null ? {} : { adminToken },
      auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] }, claims: { role: 'role', tenant: 'tenant_id', user: 'sub' } },
      connections: { main: { url: PG_URL, max: 2, schema } },
      limits: { rateLimitPerUser: 0, rateLimitPerIP: 0, queryTimeout: 10_000 },
      workers: { threads: 1 },
      logging: { level: 'silent' },
      ...(opts.queue && { queue: { redis: REDIS_URL, prefix: `sluice-admin-${hex}` } }),
      permissions: {
        member: {
          main: {
            notes: {
              select: { columns: ['id', 'tenant_id', 'body'], filter: { tenant_id: '$claims.tenant_id' } },
              insert: { columns: ['body'], set: { tenant_id: '$claims.tenant_id' } },
            },
          },
        },
      },
      tenants: {
        default: { connection: 'main', tier: 'shared' },
        tiers: { shared: { maxConcurrent: 4 }, gold: { connection: 'main', maxConcurrent: 8 } },
        routes: { acme: { tier: 'gold' }, initech: { connection: 'main', status: 'suspended' } },
        directory: { connection: 'main', table: `${schema}.sluice_tenants` },
      },
    },
    { logger: false },
  );
  const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    engine,
    adminToken: adminToken ?? '',
    schema,
    token: (tenant) => signToken({ sub: `u-${tenant}-${hex}`, role: 'member', tenant_id: tenant }),
    async close() {
      try {
        await engine.close();
      } finally {
        await admin.query(`drop schema if exists ${schema} cascade`).catch(() => undefined);
        await admin.end();
      }
    },
  };
}
