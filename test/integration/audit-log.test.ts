/**
 * The audit log to a file over a real engine and Postgres: exactly one record per /data and /jobs
 * request (none for probes or /metrics), with who/what/verdict/timings, flushed by close() — and
 * never the token, a parameter value or a row.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine } from '../../src/engine.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { post } from '../helpers/sluice-harness.js';
import { describeIfPg } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';
import { signToken } from '../helpers/tokens.js';

type AuditRecord = Record<string, any>;

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
  return { status: res.status, body: await res.json() };
}

describeIfPg('audit log (file destination)', () => {
  let fixture: PgFixture;
  let dir: string;
  let file: string;
  let token: string;
  const user = `audit-user-${randomUUID()}`;
  const paramValue = `param-secret-${randomUUID()}`;
  const garbageToken = `garbage-token-${randomUUID()}`;
  let jobId: string;
  let records: AuditRecord[];
  let raw: string;

  beforeAll(async () => {
    fixture = await createPgFixture();
    dir = mkdtempSync(join(tmpdir(), 'sluice-audit-'));
    // A directory that does not exist yet: sluice creates it.
    file = join(dir, 'nested', 'audit.log');
    const engine = createEngine({ ...testConfig(fixture.schema), observability: { audit: { destination: file } } }, { logger: false });
    try {
      const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
      token = await signToken({ sub: user, role: 'member', tenant_id: 1 });
      // 1: ok, with a parameter value and rows whose names must not be logged.
      const ok = await post(url, token, { sql: 'select id, name from customers where name <> $1 order by id', params: [paramValue], method: 'all' });
      expect(ok.status).toBe(200);
      expect(JSON.stringify(ok.body)).toContain('T1 Alice');
      // 2: refused by the permissions.
      expect((await post(url, token, { sql: 'select id from audit_secrets' })).status).toBe(403);
      // 3 and 4: no token, and a token that is not a JWT.
      expect((await post(url, undefined, { sql: 'select 1' })).status).toBe(401);
      expect((await post(url, garbageToken, { sql: 'select 1' })).status).toBe(401);
      // 5 and 6: an async job and its status.
      const sub = await call(url, 'POST', '/jobs', token, { sql: 'select id from customers where name = $1', params: [paramValue] });
      expect(sub.status).toBe(202);
      jobId = sub.body.id;
      expect((await call(url, 'GET', `/jobs/${jobId}`, token)).status).toBe(200);
      // Not audited: probes and metrics.
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect((await fetch(`${url}/metrics`)).status).toBe(200);
    } finally {
      // close() flushes the asynchronous file stream.
      await engine.close();
    }
    raw = readFileSync(file, 'utf8');
    records = raw
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditRecord);
  });

  afterAll(async () => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    await fixture?.drop();
  });

  it('writes exactly one record per /data and /jobs request, and none for probes', () => {
    expect(records.map((r) => `${r.route} ${r.status}`)).toEqual([
      'POST /data 200',
      'POST /data 403',
      'POST /data 401',
      'POST /data 401',
      'POST /jobs 202',
      'GET /jobs/:id 200',
    ]);
    expect(new Set(records.map((r) => r.reqId)).size).toBe(6);
  });

  it('records who, where, what, the verdict and the timings of a statement that ran', () => {
    const r = records[0]!;
    expect(r).toMatchObject({
      msg: 'data request',
      user,
      tenant: 1,
      role: 'member',
      connection: 'main',
      tables: [`${fixture.schema}.customers`],
      verdict: 'ok',
      rows: 3,
      status: 200,
      cacheHit: false,
      ip: '127.0.0.1',
    });
    // The id sluice made (src/http/request-id.ts): the app's random prefix and a counter.
    expect(r.reqId).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect(r.reason).toBeUndefined();
    for (const k of ['waitMs', 'checkMs', 'acquireMs', 'leaseMs', 'totalMs']) expect(r[k]).toEqual(expect.any(Number));
    expect(r.leaseMs).toBeGreaterThan(0);
    expect(Date.parse(r.time)).toBeGreaterThan(0);
  });

  it('records the reason of a refusal, with or without an identity', () => {
    expect(records[1]).toMatchObject({ user, verdict: 'TABLE_NOT_ALLOWED', reason: 'TABLE_NOT_ALLOWED', status: 403, tables: [`${fixture.schema}.audit_secrets`] });
    expect(records[2]).toMatchObject({ verdict: 'TOKEN_MISSING', reason: 'TOKEN_MISSING', status: 401 });
    expect(records[2]!.user).toBeUndefined();
    expect(records[3]).toMatchObject({ verdict: 'TOKEN_INVALID', reason: 'TOKEN_INVALID', status: 401 });
  });

  it('records the job id of /jobs requests', () => {
    expect(records[4]).toMatchObject({ msg: 'jobs request', user, tenant: 1, connection: 'main', jobId, verdict: 'ok', status: 202 });
    expect(records[5]).toMatchObject({ msg: 'jobs request', jobId, status: 200 });
  });

  it('never contains a token, a parameter value, a row or the SQL', () => {
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(garbageToken);
    expect(raw).not.toContain(paramValue);
    expect(raw).not.toContain('T1 Alice');
    expect(raw).not.toContain('select');
    for (const r of records) {
      expect(Object.keys(r)).not.toContain('sql');
      expect(Object.keys(r)).not.toContain('params');
    }
  });
});

it('an audit file sluice cannot write stops start-up, naming the key and the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-audit-'));
  try {
    // Its "directory" is a regular file.
    const notADir = join(dir, 'plain-file');
    writeFileSync(notADir, '');
    const destination = join(notADir, 'audit.log');
    const escaped = destination.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(() => createEngine({ ...testConfig('public'), observability: { audit: { destination } } }, { logger: false })).toThrow(
      new RegExp(`^observability\\.audit\\.destination: cannot write ${escaped}: (EEXIST|ENOTDIR)$`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
