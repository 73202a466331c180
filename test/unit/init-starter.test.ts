/**
 * The starting config of `sluice init`, from a catalog to YAML, without a database: which tables a
 * role reaches and how (planStarter), and that the YAML says exactly that, loads, and lists each
 * left-out table in a comment that becomes a valid entry when uncommented in place.
 */
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { init } from '../../src/cli/init.js';
import { UsageError } from '../../src/cli/usage.js';
import { interpolateEnv } from '../../src/config/interpolate.js';
import { parseConfig } from '../../src/config/schema.js';
import type { Catalog, CatalogColumn, CatalogTable } from '../../src/init/catalog.js';
import { groupCatalog } from '../../src/init/catalog.js';
import { planStarter, type StarterOptions } from '../../src/init/starter-plan.js';
import { starterYaml, type StarterSource } from '../../src/init/starter-yaml.js';

const col = (name: string, o: Partial<CatalogColumn> = {}): CatalogColumn => ({ name, generated: false, primaryKey: false, hasDefault: false, ...o });
const table = (name: string, columns: CatalogColumn[], o: Partial<CatalogTable> = {}): CatalogTable => ({ schema: 'app', name, kind: 'table', columns, ...o });
const tenant = col('tenant_id');
const serial = col('id', { primaryKey: true, hasDefault: true });

const CATALOG: Catalog = {
  defaultSchema: 'app',
  tables: [
    table('customers', [serial, tenant, col('name'), col('shout', { generated: true })]),
    table('notes', [col('id', { primaryKey: true }), tenant, col('body')]),
    table('customer_names', [col('id'), tenant, col('name')], { kind: 'view' }),
    table('countries', [col('code', { primaryKey: true }), col('name'), col('Bad Name')]),
    table('Order Items', [serial, tenant]),
    table('wide', [serial, tenant, col('ok'), col('odd-column')]),
    table('events_2026', [serial, tenant], { partitionOf: 'events' }),
    table('ledger', [serial, tenant, col('amount')], { schema: 'billing' }),
    table('stamped', [serial, col('tenant_id', { generated: true }), col('v')]),
    table('tags', [serial, tenant]),
  ],
};
const OPTIONS: StarterOptions = { tenantColumn: 'tenant_id', tenantClaim: 'tenant_id' };
const own = { tenant_id: '$claims.tenant_id' };
const SOURCE: StarterSource = { connection: { dialect: 'postgres', url: '${DATABASE_URL}', schema: 'app' }, description: 'the Postgres database postgres://app@db:5432/app' };
const ENV = { DATABASE_URL: 'postgres://app@db:5432/app', JWT_SECRET: 'x'.repeat(32) };

function load(yaml: string) {
  return parseConfig(interpolateEnv(parseYaml(yaml), ENV));
}

describe('planStarter', () => {
  const plan = planStarter(CATALOG, OPTIONS);
  const entry = (key: string) => plan.tables.find((t) => t.key === key);

  it('scopes a table with the tenant column: filtered reads, preset inserts, no tenant/primary-key/generated writes', () => {
    expect(entry('customers')!.permission).toEqual({
      select: { columns: ['id', 'tenant_id', 'name', 'shout'], filter: own },
      insert: { columns: ['name'], set: own },
      update: { columns: ['name'], filter: own },
      delete: { filter: own },
    });
    expect(entry('customers')!.notes).toEqual(['computed by the database, never written: shout']);
  });

  it('lets the client choose a primary key the database does not fill, but never update it', () => {
    expect(entry('notes')!.permission.insert).toEqual({ columns: ['id', 'body'], set: own });
    expect(entry('notes')!.permission.update).toEqual({ columns: ['body'], filter: own });
  });

  it('keeps views read-only', () => {
    expect(entry('customer_names')).toEqual({ key: 'customer_names', permission: { select: { columns: ['id', 'tenant_id', 'name'], filter: own } }, notes: ['a view: read-only'] });
  });

  it('leaves out tables without the tenant column, with names that need quoting, and partitions', () => {
    expect(plan.leftOut).toEqual([
      { key: 'countries', reason: 'no-tenant-column', columns: ['code', 'name'] },
      { key: 'Order Items', reason: 'name' },
      { key: 'events_2026', reason: 'partition', parent: 'events' },
    ]);
    expect(plan.tables.map((t) => t.key)).toEqual(['customers', 'notes', 'customer_names', 'wide', 'billing.ledger', 'stamped', 'tags']);
  });

  it('drops a column that needs quoting from every list, and says so', () => {
    expect(entry('wide')!.permission.select!.columns).toEqual(['id', 'tenant_id', 'ok']);
    expect(entry('wide')!.notes).toEqual(['columns left out (sluice takes unquoted names only): "odd-column"']);
  });

  it('names tables of other schemas schema.table', () => {
    expect(entry('billing.ledger')!.permission.select!.columns).toEqual(['id', 'tenant_id', 'amount']);
  });

  it('never presets a computed tenant column, and leaves out operations with no column', () => {
    expect(entry('stamped')!.permission).toEqual({ select: { columns: ['id', 'tenant_id', 'v'], filter: own }, update: { columns: ['v'], filter: own }, delete: { filter: own } });
    expect(entry('stamped')!.notes).toContain('tenant_id is computed by the database, so it cannot be preset: no insert');
    expect(entry('tags')!.permission).toEqual({ select: { columns: ['id', 'tenant_id'], filter: own }, delete: { filter: own } });
  });

  it('compares the tenant column with the claim it is told', () => {
    const ns = planStarter(CATALOG, { tenantColumn: 'tenant_id', tenantClaim: 'https://app.example/tenant' });
    expect(ns.tables[0]!.permission.select!.filter).toEqual({ tenant_id: '$claims.https://app.example/tenant' });
    expect(planStarter(CATALOG, { tenantColumn: 'org', tenantClaim: 'org' }).tables).toEqual([]);
  });
});

describe('groupCatalog', () => {
  it('groups ordered column rows into tables and drops other kinds', () => {
    const row = (table: string, column: string, kind: 'table' | 'view' | 'other' = 'table') => ({ schema: 's', table, kind, partition_of: null, column, generated: false, primary_key: false, has_default: false });
    expect(groupCatalog([row('a', 'x'), row('a', 'y'), row('seq', 'last_value', 'other'), row('b', 'z', 'view')]).map((t) => [t.name, t.kind, t.columns.map((c) => c.name)])).toEqual([
      ['a', 'table', ['x', 'y']],
      ['b', 'view', ['z']],
    ]);
  });
});

describe('starterYaml', () => {
  const plan = planStarter(CATALOG, OPTIONS);
  const yaml = starterYaml(plan, OPTIONS, SOURCE);

  it('loads, and holds exactly the planned permissions', () => {
    const config = load(yaml);
    expect(config.permissions).toEqual({ member: { main: Object.fromEntries(plan.tables.map((t) => [t.key, t.permission])) } });
    expect(config.connections.main).toMatchObject({ dialect: 'postgres', url: ENV.DATABASE_URL, schema: 'app' });
    expect(config.auth).toEqual({ jwt: { secret: ENV.JWT_SECRET, algorithms: ['HS256'], clockTolerance: 5, cacheSize: 10_000 }, claims: { role: 'role', tenant: 'tenant_id', user: 'sub' } });
  });

  it('refuses quoted literals (sql.literals: refuse-strings), and says why', () => {
    expect(load(yaml).sql.literals).toEqual({ default: 'refuse-strings', connections: {}, roles: {} });
    expect(yaml).toContain('# Values travel as parameters');
    expect(yaml).toMatch(/\nsql:\n(  #.*\n)+  literals: refuse-strings\n/);
  });

  it('writes placeholders, never values, for the URL and the secret', () => {
    expect(yaml).toContain('secret: ${JWT_SECRET}');
    expect(yaml).toContain('url: "${DATABASE_URL}"');
    expect((parseYaml(yaml) as { connections: { main: { url: string } } }).connections.main.url).toBe('${DATABASE_URL}');
  });

  it('explains each entry and each left-out table in comments', () => {
    expect(yaml).toContain('# a view: read-only\n      customer_names:');
    expect(yaml).toContain('# computed by the database, never written: shout\n      customers:');
    expect(yaml).toContain('# Left out: names that need quoting');
    expect(yaml).toContain('# "Order Items"');
    expect(yaml).toContain('# events_2026 (partition of events)');
    expect(yaml).toContain('  # defaultRole: member');
  });

  it('lists each table without the tenant column as a read-only entry that loads when uncommented in place', () => {
    const line = yaml.split('\n').find((l) => l.trim().startsWith('# countries:'))!;
    expect(line).toBe('      # countries: {select: {columns: [code, name]}}');
    expect(load(yaml.replace(line, line.replace('# ', ''))).permissions.member!.main!.countries).toEqual({ select: { columns: ['code', 'name'] } });
    // And so does the default role.
    const role = yaml.split('\n').find((l) => l.trim().startsWith('# defaultRole:'))!;
    expect(load(yaml.replace(role, role.replace('# ', ''))).auth.defaultRole).toBe('member');
  });

  it('writes a namespaced tenant claim so that it reads back as the same reference', () => {
    const ns = { tenantColumn: 'tenant_id', tenantClaim: 'https://app.example/tenant' };
    const config = load(starterYaml(planStarter(CATALOG, ns), ns, SOURCE));
    expect(config.auth.claims.tenant).toBe('https://app.example/tenant');
    expect(config.permissions.member!.main!.customers!.insert!.set).toEqual({ tenant_id: '$claims.https://app.example/tenant' });
  });

  it('still loads when no table has the tenant column (the role may do nothing)', () => {
    const none = planStarter({ defaultSchema: 'main', tables: [table('countries', [col('code')], { schema: 'main' })] }, OPTIONS);
    const text = starterYaml(none, OPTIONS, { connection: './app.db', description: 'the SQLite database ./app.db' });
    expect(text).toContain('No table has a tenant_id column');
    expect(load(text).permissions).toEqual({ member: { main: {} } });
  });
});

describe('sluice init options', () => {
  const refused = async (o: Parameters<typeof init>[0]): Promise<string> => {
    try {
      await init(o, () => undefined, () => undefined);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      return (e as Error).message;
    }
    throw new Error('expected a UsageError');
  };

  it('refuses bad options before reading any database', async () => {
    expect(await refused({ fromDatabase: 'http://example.com/db' })).toContain('--from-database must be a postgres://');
    expect(await refused({ fromDatabase: 'postgres://a:hunter2@db/app', tenantColumn: 'tenant id' })).toContain('--tenant-column must be a column name');
    expect(await refused({ fromDatabase: 'postgres://a@db/app', tenantClaim: '$claims.tenant_id' })).toContain('--tenant-claim must be the claim\'s name');
    expect(await refused({ fromDatabase: 'postgres://a@db/app', schemas: ['a', 'a'] })).toContain('a schema is named twice');
    expect(await refused({ fromDatabase: 'postgres://a@db/app', schemas: ['a;b'] })).toContain('--schema must be a schema name');
    expect(await refused({ fromDatabase: './app.db', schemas: ['other'] })).toContain('a SQLite connection has only "main"');
    expect(await refused({ fromDatabase: 'mysql://a@db:3306/shop', schemas: ['other'] })).toContain('the URL\'s database ("shop")');
  });

  it('never echoes the URL of a database it cannot use', async () => {
    expect(await refused({ fromDatabase: 'postgres://a:hunter2@db/app', tenantColumn: '' })).not.toContain('hunter2');
    expect(await refused({ fromDatabase: 'mysql://a:hunter2@db:3306/' })).not.toContain('hunter2');
  });
});
