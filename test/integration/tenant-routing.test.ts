/**
 * Tenant routing end to end (issue 5): shared, dedicated and hybrid topologies on real Postgres.
 * The "dedicated database" is a second connection (its own schema) so the test can tell where a
 * statement ran: the dedicated copy of `notes` holds rows the shared one does not.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { describeIfPg, PG_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { signToken, TEST_JWT_SECRET } from '../helpers/tokens.js';

const hex = randomBytes(5).toString('hex');
const shared = `t_${hex}_shared`;
const dedicated = `t_${hex}_acme`;

function config(extra: { tenants: Record<string, unknown>; permissions?: Record<string, unknown>; dbRole?: string }): Record<string, unknown> {
  return {
    auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] }, claims: { role: 'role', tenant: 'tenant_id', user: 'sub' } },
    connections: {
      main: { url: PG_URL, max: 2, schema: shared, ...(extra.dbRole !== undefined && { dbRole: extra.dbRole }) },
      acme_db: { url: PG_URL, max: 2, schema: dedicated },
    },
    limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
    workers: { threads: 1 },
    logging: { level: 'silent' },
    permissions: extra.permissions ?? {
      member: {
        main: { notes: { select: { columns: ['id', 'tenant_id', 'body'], filter: { tenant_id: '$claims.tenant_id' } } } },
        // Every dedicated database: the whole table is the tenant's, so no row filter.
        '@dedicated': { notes: { select: { columns: '*' } } },
      },
    },
    tenants: extra.tenants,
  };
}

const token = (tenant: string | undefined): Promise<string> =>
  signToken({ sub: `u-${tenant ?? 'none'}-${hex}`, role: 'member', ...(tenant !== undefined && { tenant_id: tenant }) });

async function start(raw: Record<string, unknown>): Promise<{ engine: Engine; url: string }> {
  const engine = createEngine(raw, { logger: false });
  const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
  return { engine, url };
}

const READ = { sql: 'select body from notes order by id', params: [], method: 'all' };

describeIfPg('tenant routing', () => {
  let admin: pg.Pool;
  let sluice: { engine: Engine; url: string };

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
    await admin.query(`create schema ${shared}; create schema ${dedicated}`);
    for (const s of [shared, dedicated]) await admin.query(`create table ${s}.notes (id serial primary key, tenant_id text not null, body text not null)`);
    await admin.query(`insert into ${shared}.notes (tenant_id, body) values ('t1', 't1-shared'), ('t2', 't2-shared'), ('acme', 'acme-in-shared'), ('dirco', 'dirco-in-shared')`);
    await admin.query(`insert into ${dedicated}.notes (tenant_id, body) values ('acme', 'dedicated-1'), ('legacy', 'dedicated-2')`);
    await admin.query(`create table ${shared}.sluice_tenants (tenant_id text primary key, connection text, tier text, status text)`);
    await admin.query(`insert into ${shared}.sluice_tenants values ('dirco', 'acme_db', 'dedicated', null), ('badrow', 'no_such_db', null, null), ('dirmaint', null, null, 'maintenance')`);
    sluice = await start(
      config({
        tenants: {
          default: { connection: 'main', tier: 'shared' },
          tiers: { shared: {}, dedicated: { connection: 'acme_db' } },
          routes: {
            acme: { tier: 'dedicated' },
            gone: { connection: 'main', status: 'suspended' },
            fixing: { connection: 'main', status: 'maintenance' },
          },
          maintenanceRetryAfter: 42,
          directory: { connection: 'main', table: `${shared}.sluice_tenants`, refreshMs: 1000 },
        },
      }),
    );
  });

  afterAll(async () => {
    await sluice?.engine.close();
    await admin?.query(`drop schema if exists ${shared} cascade; drop schema if exists ${dedicated} cascade`);
    await admin?.end();
  });

  it('shared: a tenant on the default route reads its own rows of the shared database', async () => {
    const res = await post(sluice.url, await token('t1'), READ);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([['t1-shared']]);
  });

  it('dedicated: the tenant is routed to its own database, whose permissions (@dedicated) have no row filter', async () => {
    const res = await post(sluice.url, await token('acme'), READ);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([['dedicated-1'], ['dedicated-2']]);
  });

  it('a tenant cannot pick another connection by naming it in the body', async () => {
    const toShared = await post(sluice.url, await token('acme'), { ...READ, connection: 'main' });
    expect(toShared.status).toBe(403);
    expect(toShared.body.error.code).toBe('CONNECTION_NOT_ROUTED');
    const toDedicated = await post(sluice.url, await token('t1'), { ...READ, connection: 'acme_db' });
    expect(toDedicated.status).toBe(403);
    expect(toDedicated.body.error.code).toBe('CONNECTION_NOT_ROUTED');
    // Naming the routed connection itself is fine.
    expect((await post(sluice.url, await token('t1'), { ...READ, connection: 'main' })).status).toBe(200);
  });

  it('suspended → 403 TENANT_SUSPENDED; maintenance → 503 TENANT_MAINTENANCE with Retry-After; others unaffected', async () => {
    const gone = await post(sluice.url, await token('gone'), READ);
    expect(gone.status).toBe(403);
    expect(gone.body.error.code).toBe('TENANT_SUSPENDED');
    const fixing = await post(sluice.url, await token('fixing'), READ);
    expect(fixing.status).toBe(503);
    expect(fixing.body.error.code).toBe('TENANT_MAINTENANCE');
    expect(fixing.headers.get('retry-after')).toBe('42');
    expect((await post(sluice.url, await token('t2'), READ)).body.rows).toEqual([['t2-shared']]);
  });

  it('a token without a tenant claim is refused with TENANT_UNKNOWN', async () => {
    const res = await post(sluice.url, await token(undefined), READ);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('TENANT_UNKNOWN');
  });

  it('directory: routes come from the table; a bad row refuses the tenant instead of defaulting it', async () => {
    const dirco = await post(sluice.url, await token('dirco'), READ);
    expect(dirco.status).toBe(200);
    expect(dirco.body.rows).toEqual([['dedicated-1'], ['dedicated-2']]);
    const bad = await post(sluice.url, await token('badrow'), READ);
    expect(bad.status).toBe(403);
    expect(bad.body.error.code).toBe('TENANT_UNKNOWN');
    const maint = await post(sluice.url, await token('dirmaint'), READ);
    expect(maint.status).toBe(503);
    expect(maint.body.error.code).toBe('TENANT_MAINTENANCE');
  });

  it('directory: a change in the table is picked up by the background refresh', async () => {
    expect((await post(sluice.url, await token('t2'), READ)).status).toBe(200);
    await admin.query(`insert into ${shared}.sluice_tenants values ('t2', null, null, 'suspended')`);
    try {
      const deadline = Date.now() + 10_000;
      let code: string | undefined;
      while (Date.now() < deadline) {
        const res = await post(sluice.url, await token('t2'), READ);
        code = res.body?.error?.code;
        if (code === 'TENANT_SUSPENDED') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(code).toBe('TENANT_SUSPENDED');
    } finally {
      await admin.query(`delete from ${shared}.sluice_tenants where tenant_id = 't2'`);
    }
  });
});

describeIfPg('tenant routing: reloading the directory', () => {
  it('a reload whose directory cannot be read is refused and the running directory keeps serving', async () => {
    const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const s = `t_${randomBytes(5).toString('hex')}_dir`;
    await admin.query(`create schema ${s}; create table ${s}.notes (id serial primary key, tenant_id text not null, body text not null)`);
    await admin.query(`create table ${s}.dir (tenant_id text primary key, connection text, tier text, status text)`);
    await admin.query(`insert into ${s}.dir values ('d1', null, null, 'suspended')`);
    const make = (table: string): Record<string, unknown> => {
      const raw = config({
        tenants: { default: { connection: 'main' }, tiers: { dedicated: {} }, directory: { connection: 'main', table, refreshMs: 60_000 } },
        permissions: { member: { main: { notes: { select: { columns: '*', filter: { tenant_id: '$claims.tenant_id' } } } } } },
      });
      (raw.connections as Record<string, Record<string, unknown>>).main!.schema = s;
      return raw;
    };
    const { engine, url } = await start(make(`${s}.dir`));
    try {
      expect((await post(url, await token('d1'), READ)).body.error.code).toBe('TENANT_SUSPENDED');
      await expect(engine.reload(make(`${s}.no_such_table`))).rejects.toThrow(/tenants\.directory: could not be read/);
      // Still the old directory: d1 is still suspended, others still on the default route.
      expect((await post(url, await token('d1'), READ)).body.error.code).toBe('TENANT_SUSPENDED');
      expect((await post(url, await token('d2'), READ)).status).toBe(200);
    } finally {
      await engine.close();
      await admin.query(`drop schema ${s} cascade`);
      await admin.end();
    }
  }, 30_000);
});

describeIfPg('tenant routing: config checks', () => {
  it('refuses routes to unknown connections or tiers, and "@tier" permissions for unknown tiers', () => {
    const bad = config({
      tenants: { default: { connection: 'nope' }, tiers: {}, routes: { a: { tier: 'gold' } } },
      permissions: { member: { '@silver': { notes: { select: { columns: '*' } } } } },
    });
    let message = '';
    try {
      parseConfig(bad);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('tenants.default.connection');
    expect(message).toContain('tenants.routes.a.tier');
    expect(message).toContain('no tier named "silver"');
  });
});

describeIfPg('dbRole template: one shared pool, a database role per tenant (RLS)', () => {
  const prefix = `sl_${hex}`;
  let admin: pg.Pool;
  let sluice: { engine: Engine; url: string };
  const schema = `t_${hex}_rls`;

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
    await admin.query(`create schema ${schema}`);
    await admin.query(`create table ${schema}.notes (id serial primary key, tenant_id text not null, body text not null)`);
    await admin.query(`insert into ${schema}.notes (tenant_id, body) values ('${prefix}_a', 'a-1'), ('${prefix}_b', 'b-1'), ('${prefix}_a', 'a-2')`);
    await admin.query(`alter table ${schema}.notes enable row level security`);
    await admin.query(`create policy own on ${schema}.notes using (tenant_id = current_user)`);
    for (const t of ['a', 'b']) {
      await admin.query(`create role ${prefix}_${t} nologin`);
      await admin.query(`grant usage on schema ${schema} to ${prefix}_${t}; grant select on ${schema}.notes to ${prefix}_${t}`);
    }
    const raw = config({
      tenants: { default: { connection: 'main' } },
      // No row filter in sluice at all: the database's RLS, under the tenant's own role, decides.
      permissions: { member: { main: { notes: { select: { columns: '*' } } } } },
      dbRole: `${prefix}_{tenant_id}`,
    });
    (raw.connections as Record<string, Record<string, unknown>>).main!.schema = schema;
    sluice = await start(raw);
  });

  afterAll(async () => {
    await sluice?.engine.close();
    await admin?.query(`drop schema if exists ${schema} cascade`);
    for (const t of ['a', 'b']) await admin?.query(`drop role if exists ${prefix}_${t}`);
    await admin?.end();
  });

  it('each tenant runs as its own role on the one pool and sees only what RLS gives that role', async () => {
    // Alternate tenants on a pool of two connections: the role never sticks to a connection.
    for (let i = 0; i < 3; i++) {
      // The login role (postgres) is a superuser and would bypass RLS and see all three rows.
      const a = await post(sluice.url, await token('a'), { sql: 'select body from notes order by id', params: [], method: 'all' });
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.body.rows).toEqual([['a-1'], ['a-2']]);
      const b = await post(sluice.url, await token('b'), { sql: 'select body from notes order by id', params: [], method: 'all' });
      expect(b.body.rows).toEqual([['b-1']]);
    }
  });

  it('a tenant whose role does not exist → 403 DATABASE_PERMISSION_DENIED, never a fallback to the login role', async () => {
    const res = await post(sluice.url, await token('c'), READ);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('DATABASE_PERMISSION_DENIED');
  });

  it('a tenant claim that is not a plain name cannot shape the role → 403 CLAIM_MISSING', async () => {
    for (const tenant of ['a; reset role', 'a"b', 'x'.repeat(80)]) {
      const res = await post(sluice.url, await token(tenant), READ);
      expect(res.status, tenant).toBe(403);
      expect(res.body.error.code).toBe('CLAIM_MISSING');
    }
  });
});

describe('tenant routing config', () => {
  it('is optional, and a tier-less route to a connection is valid', () => {
    const raw = config({ tenants: {}, permissions: { member: { main: { notes: { select: { columns: '*' } } } } } });
    delete raw.tenants;
    expect(parseConfig(raw).tenants).toBeUndefined();
    expect(parseConfig(config({ tenants: { tiers: { dedicated: {} }, routes: { x: { connection: 'acme_db' } } } })).tenants?.routes.x).toEqual({ connection: 'acme_db', status: 'active' });
  });

  it('requires a connection for an active route (its own or its tier\'s)', () => {
    expect(() => parseConfig(config({ tenants: { tiers: { gold: {}, dedicated: {} }, routes: { x: { tier: 'gold' } } } }))).toThrow(/tenants\.routes\.x\.connection: is required/);
  });
});
