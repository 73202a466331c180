/**
 * One log shape everywhere, on real processes: a worker thread's line (a database that refuses
 * connections) has the main logger's fields plus its threadId, at warn level rather than error,
 * and `logging.level` silences it like any main-thread line; `sluice worker` writes the same pino
 * lines. Lines are read from the processes' stdout, where every logger writes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.js';
import { startCli, type CliProcess } from '../helpers/cli-process.js';
import { describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { memberPermissions } from '../helpers/test-config.js';
import { makeTokens, TEST_JWT_SECRET } from '../helpers/tokens.js';
import { waitUntil } from '../helpers/wait-until.js';

/** Nothing listens on port 1: every connect is refused, a driver-level warning in the thread. */
const REFUSING_DB = 'postgres://postgres@127.0.0.1:1/test';
const MAIN_FIELDS = ['level', 'time', 'pid', 'hostname', 'msg'];
/** Each test starts a real process from source (tsx): seconds on a loaded 2-core machine. */
const PROCESS_TEST_MS = 90_000;

const dir = mkdtempSync(join(tmpdir(), 'sluice-logs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(extra: Record<string, unknown>): string {
  const path = join(dir, `${randomUUID()}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0 },
      auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
      connections: { main: { url: REFUSING_DB, max: 2, connectionTimeoutMs: 1000 } },
      workers: { threads: 1 },
      health: { intervalMs: 0 },
      permissions: memberPermissions(),
      ...extra,
    }),
  );
  return path;
}

type Line = Record<string, unknown>;
const jsonLines = (p: CliProcess): Line[] =>
  p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);

const procs: CliProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.child.kill('SIGKILL');
    await p.exited;
  }
});

function start(args: string[]): CliProcess {
  const p = startCli(args);
  procs.push(p);
  return p;
}

async function serveAndFail(level: string): Promise<CliProcess> {
  const port = await freePort();
  const p = start(['serve', '--config', configFile({ logging: { level } }), '--port', String(port)]);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil('the gateway answers /healthz', async () => (await fetch(`${url}/healthz`).catch(() => undefined))?.ok, 60_000, 200);
  const tokens = await makeTokens();
  const res = await post(url, tokens.tenant1, { sql: 'select id from customers', method: 'all' });
  expect(res.status).toBe(503);
  expect(res.body.error.code).toBe('DATABASE_UNAVAILABLE');
  return p;
}

describe('worker thread logs', { timeout: PROCESS_TEST_MS }, () => {
  it('carry the main logger fields plus threadId, at warn (40) for a refused connection, on stdout', async () => {
    const p = await serveAndFail('info');
    await waitUntil('the thread logged the refused connection', async () => jsonLines(p).some((l) => l.msg === 'postgres error'), 10_000);
    const thread = jsonLines(p).find((l) => l.msg === 'postgres error')!;
    const main = jsonLines(p).find((l) => typeof l.msg === 'string' && /^listening on /.test(l.msg))!;
    expect(Object.keys(main)).toEqual(expect.arrayContaining(MAIN_FIELDS));
    expect(Object.keys(thread)).toEqual(expect.arrayContaining([...MAIN_FIELDS, 'threadId']));
    expect(thread.level).toBe(40);
    expect(thread.pid).toBe(main.pid);
    expect(thread.hostname).toBe(main.hostname);
    expect(typeof thread.time).toBe(typeof main.time);
    expect(thread.threadId).toBeGreaterThan(0);
    // The raw error stays in the log, the client only saw the sanitized code.
    expect(String(thread.err)).toContain('ECONNREFUSED');
  });

  it('follow logging.level: at "error" the thread warning is not written', async () => {
    const p = await serveAndFail('error');
    // The thread writes synchronously before it answers; after exit every byte has been read.
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(jsonLines(p).filter((l) => l.msg === 'postgres error')).toEqual([]);
    expect(p.output()).not.toContain('ECONNREFUSED');
  });
});

describeIfRedis('sluice worker logs', { timeout: PROCESS_TEST_MS }, () => {
  it('are pino lines with the main logger fields', async () => {
    const prefix = `test-${randomUUID()}`;
    try {
      const w = start(['worker', '--config', configFile({ queue: { redis: REDIS_URL, prefix } })]);
      await w.waitFor(/worker ready/, 60_000);
      const ready = jsonLines(w).find((l) => l.msg === 'worker ready')!;
      expect(Object.keys(ready)).toEqual(expect.arrayContaining([...MAIN_FIELDS, 'threads', 'capacity']));
      expect(ready.level).toBe(30);
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
      expect(jsonLines(w).map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
    } finally {
      await dropRedisPrefix(prefix);
    }
  });
});
