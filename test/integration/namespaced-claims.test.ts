/**
 * Namespaced claims (Auth0 style, `https://app.example/tenant`) end to end on real Postgres, read by
 * the one claim lookup everywhere: the role and tenant of the principal, tenant routing, row
 * filters, presets and a dbRole template. And the confused deputy of issue 11 (finding 3): a token
 * in which the tenant reference reads two ways is refused at authentication — before routing (a
 * suspended tenant under either reading would otherwise answer TENANT_SUSPENDED) and before any
 * lease (its audit record has no connection).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { describeIfPg, PG_URL } from '../helpers/services.js';
import { createTenantSchemas, type TenantSchemas } from '../helpers/tenant-schemas.js';
import { post } from '../helpers/sluice-harness.js';
import { signToken, TEST_JWT_SECRET } from '../helpers/tokens.js';
import { waitUntil } from '../helpers/wait-until.js';

const NS = 'https://app.example/';
const hex = randomBytes(5).toString('hex');
const READ = { sql: 'select body from notes order by id', params: [], method: 'all' };

function claims(tenant: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: `u-${hex}`, [`${NS}role`]: 'member', [`${NS}tenant`]: tenant, ...extra };
}

describeIfPg('namespaced claims end to end (Postgres)', () => {
  let db: TenantSchemas;
  let engine: Engine;
  let url: string;
  let dir: string;
  let auditFile: string;

  beforeAll(async () => {
    // One database role per tenant on the shared pool (dbRole template over the namespaced claim).
    db = await createTenantSchemas({ roles: ['t1', 't2'], grants: 'select, insert' });
    const { shared, dedicated, rolePrefix } = db;
    dir = mkdtempSync(join(tmpdir(), 'sluice-ns-claims-'));
    auditFile = join(dir, 'audit.log');
    engine = createEngine(
      {
        auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] }, claims: { role: `${NS}role`, tenant: `${NS}tenant`, user: 'sub' } },
        connections: {
          main: { url: PG_URL, max: 2, schema: shared, dbRole: `${rolePrefix}{${NS}tenant}` },
          acme_db: { url: PG_URL, max: 2, schema: dedicated },
        },
        limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
        workers: { threads: 1 },
        logging: { level: 'silent' },
        observability: { audit: { destination: auditFile } },
        permissions: {
          member: {
            main: {
              notes: {
                select: { columns: ['id', 'tenant_id', 'body', 'owner'], filter: { tenant_id: `$claims.${NS}tenant` } },
                insert: { columns: ['body'], set: { tenant_id: `$claims.${NS}tenant` } },
              },
            },
            '@dedicated': { notes: { select: { columns: '*' } } },
          },
        },
        tenants: {
          default: { connection: 'main', tier: 'shared' },
          tiers: { shared: {}, dedicated: { connection: 'acme_db' } },
          routes: { acme: { tier: 'dedicated' }, gone: { connection: 'main', status: 'suspended' } },
        },
      },
      { logger: false },
    );
    ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
  });

  afterAll(async () => {
    await engine?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the row filter reads the namespaced tenant claim whole', async () => {
    const res = await post(url, await signToken(claims('t1')), READ);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([['t1-shared']]);
  });

  it('the preset and the dbRole template read it too: the row is written as the tenant, by the tenant role', async () => {
    const body = `ns-write-${hex}`;
    const res = await post(url, await signToken(claims('t2')), { sql: 'insert into notes (body) values ($1)', params: [body], method: 'execute' });
    expect(res.status).toBe(200);
    const { rows } = await db.admin.query(`select tenant_id, owner from ${db.shared}.notes where body = $1`, [body]);
    expect(rows).toEqual([{ tenant_id: 't2', owner: `${db.rolePrefix}t2` }]);
  });

  it('routing reads it: the dedicated tenant runs on its own connection with its tier permissions', async () => {
    const res = await post(url, await signToken(claims('acme')), READ);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual([['dedicated-1'], ['dedicated-2']]);
  });

  it('a reference is the name spelled with dots: a nested spelling of it is the same claim, another name is not', async () => {
    const nested = { sub: `u-${hex}`, [`${NS}role`]: 'member', 'https://app': { 'example/tenant': 't1' } };
    const same = await post(url, await signToken(nested), READ);
    expect(same.status).toBe(200);
    expect(same.body.rows).toEqual([['t1-shared']]);
    const other = { sub: `u-${hex}`, [`${NS}role`]: 'member', https: { '//app.example/tenant': 't1' } };
    const res = await post(url, await signToken(other), READ);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('TENANT_UNKNOWN');
  });

  it.each([
    ['whole key t1, nested path acme (the dedicated tenant)', claims('t1', { 'https://app': { 'example/tenant': 'acme' } })],
    ['whole key acme, nested path t1', claims('acme', { 'https://app': { 'example/tenant': 't1' } })],
    ['whole key suspended, nested path t1', claims('gone', { 'https://app': { 'example/tenant': 't1' } })],
    ['whole key t1, nested path suspended', claims('t1', { 'https://app': { 'example/tenant': 'gone' } })],
    ['two readings of a claim the config never reads (the finding\'s "app.tenant")', claims('t1', { app: { tenant: 't1' }, 'app.tenant': 'acme' })],
  ])('a token with two readings is refused before routing: %s', async (_name, payload) => {
    const token = await signToken(payload);
    for (const [path, body] of [
      ['/data', READ],
      ['/jobs', READ],
    ] as const) {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const answer = (await res.json()) as { error?: { code: string; message: string } };
      expect(res.status, path).toBe(403);
      expect(answer.error?.code, path).toBe('CLAIM_AMBIGUOUS');
    }
  });

  it('the refused request was never routed nor leased: its audit record names no connection and no table', async () => {
    const res = await post(url, await signToken(claims('t1', { 'https://app': { 'example/tenant': 'acme' } })), READ);
    expect(res.body.error.code).toBe('CLAIM_AMBIGUOUS');
    const record = await waitUntil('the audit record', async () => {
      const lines = readFileSync(auditFile, 'utf8').split('\n').filter((l) => l.includes('CLAIM_AMBIGUOUS'));
      return lines.length > 0 ? lines : undefined;
    });
    for (const line of record) {
      const r = JSON.parse(line) as Record<string, unknown>;
      expect(r).toMatchObject({ verdict: 'CLAIM_AMBIGUOUS', status: 403 });
      expect(r.connection).toBeUndefined();
      expect(r.tables).toBeUndefined();
      expect(r.leaseMs).toBeUndefined();
    }
  });
});
