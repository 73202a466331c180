/**
 * `sluice check` against the gateway itself (issue 11, finding 4): for each case of the table the
 * same claims and SQL go to POST /data of a running engine and through `check` with the same config
 * file, and both must agree — allowed on the same connection and tier (the rows say where the
 * gateway ran: each connection's `notes` holds different rows), or refused with the same code and
 * status. Tenants are routed statically, by tier, by the default route and by a directory table;
 * one connection assumes a per-tenant dbRole template.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { check } from '../../src/cli/check.js';
import { EXIT } from '../../src/cli/usage.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { startCli } from '../helpers/cli-process.js';
import { describeIfPg, PG_URL } from '../helpers/services.js';
import { createTenantSchemas, type TenantSchemas } from '../helpers/tenant-schemas.js';
import { post } from '../helpers/sluice-harness.js';
import { signToken, TEST_JWT_SECRET } from '../helpers/tokens.js';

const hex = randomBytes(5).toString('hex');
const READ = 'select body from notes order by id';

function rawConfig(db: Pick<TenantSchemas, 'shared' | 'dedicated' | 'rolePrefix'>, directoryTable: string): Record<string, unknown> {
  const { shared, dedicated, rolePrefix } = db;
  return {
    auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] }, claims: { role: 'role', tenant: 'tenant_id', user: 'sub' } },
    connections: {
      main: { url: PG_URL, max: 2, schema: shared, dbRole: `${rolePrefix}{tenant_id}` },
      acme_db: { url: PG_URL, max: 2, schema: dedicated },
    },
    limits: { rateLimitPerUser: 0, rateLimitPerIP: 0, maxSqlLength: 200 },
    workers: { threads: 1 },
    logging: { level: 'silent' },
    observability: { audit: { destination: 'off' } },
    permissions: {
      member: {
        main: { notes: { select: { columns: ['id', 'tenant_id', 'body'], filter: { tenant_id: '$claims.tenant_id' } } } },
        '@dedicated': { notes: { select: { columns: '*' } } },
      },
      // Permissions only through the tier: allowed exactly where the tenant's route has that tier.
      auditor: { '@dedicated': { notes: { select: { columns: ['id', 'body'] } } } },
      // A filter on another claim than the tenant.
      team: { main: { notes: { select: { columns: ['id', 'body'], filter: { body: '$claims.team.note' } } } } },
    },
    tenants: {
      default: { connection: 'main', tier: 'shared' },
      tiers: { shared: {}, dedicated: { connection: 'acme_db' }, frozen: { connection: 'main', status: 'maintenance' } },
      routes: {
        acme: { tier: 'dedicated' },
        gone: { connection: 'main', status: 'suspended' },
        fixing: { connection: 'main', status: 'maintenance' },
        icy: { tier: 'frozen' },
      },
      maintenanceRetryAfter: 42,
      directory: { connection: 'main', table: directoryTable, refreshMs: 60_000 },
    },
  };
}

interface Verdict {
  verdict: string;
  code?: string;
  status?: number;
  connection?: string;
  tier?: string;
  lines: string[];
}

async function runCheck(configFile: string, claims: Record<string, unknown>, sql: string, connection?: string): Promise<Verdict & { exit: number }> {
  const lines: string[] = [];
  const exit = await check(configFile, claims, sql, connection, (l) => lines.push(l));
  const field = (name: string): string | undefined => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
  const code = field('code')?.match(/^(\w+) \((\d+)\)$/);
  return {
    exit,
    lines,
    verdict: field('verdict') ?? '?',
    ...(code && { code: code[1], status: Number(code[2]) }),
    ...(field('connection') !== undefined && { connection: field('connection') }),
    ...(field('tier') !== undefined && { tier: field('tier') }),
  };
}

type Expected = { allowed: { connection: string; tier: string; rows: string[] } } | { refused: { code: string; status: number } };

interface Case {
  name: string;
  claims: Record<string, unknown>;
  sql?: string;
  connection?: string;
  expected: Expected;
}

const member = (tenant: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: `u-${hex}`,
  role: 'member',
  ...(tenant !== undefined && { tenant_id: tenant }),
  ...extra,
});

const CASES: Case[] = [
  { name: 'default route: the shared connection, its tenant filter and its dbRole', claims: member('t1'), expected: { allowed: { connection: 'main', tier: 'shared', rows: ['t1-shared'] } } },
  { name: 'a tier route: the dedicated connection with the tier permissions (no filter)', claims: member('acme'), expected: { allowed: { connection: 'acme_db', tier: 'dedicated', rows: ['dedicated-1', 'dedicated-2'] } } },
  { name: 'a directory route', claims: member('dirco'), expected: { allowed: { connection: 'acme_db', tier: 'dedicated', rows: ['dedicated-1', 'dedicated-2'] } } },
  { name: 'a role with tier permissions only, on that tier', claims: { ...member('acme'), role: 'auditor' }, expected: { allowed: { connection: 'acme_db', tier: 'dedicated', rows: ['dedicated-1', 'dedicated-2'] } } },
  { name: 'a role with tier permissions only, elsewhere', claims: { ...member('t1'), role: 'auditor' }, expected: { refused: { code: 'ROLE_NOT_ALLOWED', status: 403 } } },
  { name: 'the routed connection named in the body', claims: member('acme'), connection: 'acme_db', expected: { allowed: { connection: 'acme_db', tier: 'dedicated', rows: ['dedicated-1', 'dedicated-2'] } } },
  { name: 'another connection named by a dedicated tenant', claims: member('acme'), connection: 'main', expected: { refused: { code: 'CONNECTION_NOT_ROUTED', status: 403 } } },
  { name: 'another connection named by a shared tenant', claims: member('t1'), connection: 'acme_db', expected: { refused: { code: 'CONNECTION_NOT_ROUTED', status: 403 } } },
  { name: 'a connection that does not exist', claims: member('t1'), connection: 'nope', expected: { refused: { code: 'CONNECTION_NOT_ROUTED', status: 403 } } },
  { name: 'a suspended tenant', claims: member('gone'), expected: { refused: { code: 'TENANT_SUSPENDED', status: 403 } } },
  { name: 'a tenant in maintenance', claims: member('fixing'), expected: { refused: { code: 'TENANT_MAINTENANCE', status: 503 } } },
  { name: 'a tenant whose tier is in maintenance', claims: member('icy'), expected: { refused: { code: 'TENANT_MAINTENANCE', status: 503 } } },
  { name: 'a tenant in maintenance in the directory', claims: member('dirmaint'), expected: { refused: { code: 'TENANT_MAINTENANCE', status: 503 } } },
  { name: 'a bad directory row', claims: member('badrow'), expected: { refused: { code: 'TENANT_UNKNOWN', status: 403 } } },
  { name: 'no tenant claim', claims: member(undefined), expected: { refused: { code: 'TENANT_UNKNOWN', status: 403 } } },
  { name: 'no role claim', claims: { sub: `u-${hex}`, tenant_id: 't1' }, expected: { refused: { code: 'TOKEN_INVALID', status: 401 } } },
  { name: 'a table the role may not read', claims: member('t1'), sql: 'select 1 from pg_class', expected: { refused: { code: 'TABLE_NOT_ALLOWED', status: 403 } } },
  { name: 'SQL over limits.maxSqlLength', claims: member('t1'), sql: `select body from notes where body = '${'x'.repeat(200)}'`, expected: { refused: { code: 'SQL_TOO_LONG', status: 400 } } },
  { name: 'a filter claim the token lacks', claims: { ...member('t1'), role: 'team' }, expected: { refused: { code: 'CLAIM_MISSING', status: 403 } } },
  { name: 'a filter claim the token has', claims: { ...member('t1'), role: 'team', team: { note: 't2-shared' } }, expected: { allowed: { connection: 'main', tier: 'shared', rows: ['t2-shared'] } } },
  { name: 'a dbRole template the tenant cannot fill', claims: member('bad-id'), expected: { refused: { code: 'CLAIM_MISSING', status: 403 } } },
  { name: 'a token that spells one claim name two ways', claims: member('t1', { 'tenant_id.x': 1, tenant_id: { x: 2 } }), expected: { refused: { code: 'CLAIM_AMBIGUOUS', status: 403 } } },
];

describeIfPg('sluice check agrees with the gateway', () => {
  let db: TenantSchemas;
  let engine: Engine;
  let url: string;
  let dir: string;
  let configFile: string;

  beforeAll(async () => {
    db = await createTenantSchemas({ roles: ['t1', 't2'] });
    const { admin, shared } = db;
    await admin.query(`create table ${shared}.tenant_dir (tenant_id text primary key, connection text, tier text, status text)`);
    await admin.query(`insert into ${shared}.tenant_dir values ('dirco', 'acme_db', 'dedicated', null), ('badrow', 'no_such_db', null, null), ('dirmaint', null, null, 'maintenance')`);
    dir = mkdtempSync(join(tmpdir(), 'sluice-check-'));
    configFile = join(dir, 'sluice.json');
    const raw = rawConfig(db, `${db.shared}.tenant_dir`);
    writeFileSync(configFile, JSON.stringify(raw));
    engine = createEngine(raw, { logger: false });
    ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
  });

  afterAll(async () => {
    await engine?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const sql = c.sql ?? READ;
    const gateway = await post(url, await signToken(c.claims), { sql, method: 'all', ...(c.connection !== undefined && { connection: c.connection }) });
    const verdict = await runCheck(configFile, c.claims, sql, c.connection);
    if ('allowed' in c.expected) {
      const { connection, tier, rows } = c.expected.allowed;
      expect(gateway.status, JSON.stringify(gateway.body)).toBe(200);
      expect((gateway.body.rows as string[][]).map((r) => r[0])).toEqual(rows);
      expect(verdict, verdict.lines.join('\n')).toMatchObject({ verdict: 'allowed', exit: EXIT.ok, connection, tier });
    } else {
      const { code, status } = c.expected.refused;
      expect(gateway.status, JSON.stringify(gateway.body)).toBe(status);
      expect(gateway.body.error.code).toBe(code);
      expect(verdict, verdict.lines.join('\n')).toMatchObject({ verdict: 'refused', exit: EXIT.failed, code, status });
    }
  });

  it('prints the routed tenant, connection, tier, db role and the claim params', async () => {
    const t1 = await runCheck(configFile, member('t1'), READ);
    expect(t1.lines).toEqual(
      expect.arrayContaining(['tenant: "t1"', 'connection: main', 'tier: shared', 'role: member', `db role: ${db.rolePrefix}t1`, '  $1  $claims.tenant_id = "t1"']),
    );
    const acme = await runCheck(configFile, member('acme'), READ);
    expect(acme.lines).toEqual(expect.arrayContaining(['connection: acme_db', 'tier: dedicated']));
    expect(acme.lines.join('\n')).not.toContain('$claims');
    expect(acme.lines.join('\n')).not.toContain('db role');
  });

  it('the CLI exits 0 for allowed and 1 for refused, with the same verdicts', async () => {
    const allowed = startCli(['check', '--config', configFile, '--claims', JSON.stringify(member('acme')), '--sql', READ]);
    expect(await allowed.exited).toBe(0);
    expect(allowed.output()).toContain('connection: acme_db');
    const refused = startCli(['check', '--config', configFile, '--claims', JSON.stringify(member('acme')), '--sql', READ, '--connection', 'main']);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toContain('code: CONNECTION_NOT_ROUTED (403)');
  }, 30_000);
});

describeIfPg('sluice check with a tenant directory it cannot read', () => {
  it('says the route is undetermined where it depends on the directory, and checks statically routed tenants', async () => {
    const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
    const schema = `t_${randomBytes(5).toString('hex')}_chk_nodir`;
    const tmp = mkdtempSync(join(tmpdir(), 'sluice-check-'));
    const file = join(tmp, 'sluice.json');
    await admin.query(`create schema ${schema}; create table ${schema}.notes (id serial primary key, tenant_id text not null, body text not null)`);
    const raw = rawConfig({ shared: schema, dedicated: schema, rolePrefix: 'r_unused_' }, `${schema}.no_such_table`);
    (raw.connections as Record<string, Record<string, unknown>>).main = { url: PG_URL, max: 1, schema };
    writeFileSync(file, JSON.stringify(raw));
    const engine = createEngine(raw, { logger: false });
    try {
      const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
      // The gateway cannot route such a tenant either: it answers 503 until the directory loads.
      const gateway = await post(url, await signToken(member('t1')), { sql: READ });
      expect(gateway.status).toBe(503);
      expect(gateway.body.error.code).toBe('DATABASE_UNAVAILABLE');
      const undetermined = await runCheck(file, member('t1'), READ);
      expect(undetermined).toMatchObject({ verdict: 'undetermined', exit: EXIT.undetermined });
      expect(undetermined.lines.join('\n')).toMatch(/reason: .*tenant directory \(.*no_such_table on connection "main"\) could not be read/);
      expect(undetermined.lines.join('\n')).not.toMatch(/^connection:/m);
      // A static route does not depend on the directory.
      const gone = await runCheck(file, member('gone'), READ);
      expect(gone).toMatchObject({ verdict: 'refused', code: 'TENANT_SUSPENDED' });
      const acme = await runCheck(file, member('acme'), READ);
      expect(acme).toMatchObject({ verdict: 'allowed', connection: 'acme_db', tier: 'dedicated' });
    } finally {
      await engine.close();
      await admin.query(`drop schema ${schema} cascade`);
      await admin.end();
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 30_000);
});
