/**
 * Shutdown on real processes (spawned from source, as an orchestrator runs them):
 * - `sluice serve` with server.drainDelayMs: after SIGTERM /readyz answers 503 SHUTTING_DOWN while
 *   /data is still served, then the process drains and exits 0; SIGINT skips the delay.
 * - A SIGTERM while the process is still starting is held and applied once it has started.
 * - `sluice worker`: a statement still running past the old fixed 10 s shutdown wait (well within
 *   limits.queryTimeout) finishes and is answered, and the worker exits 0.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { startCli, type CliProcess } from '../helpers/cli-process.js';
import { blockedBackends, holdLock, type HeldLock } from '../helpers/pg-backends.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { describeIfPg, describeIfRedis, dropRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { post } from '../helpers/sluice-harness.js';
import { PG_TEST_URL } from '../helpers/skip.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { sleep, waitUntil } from '../helpers/wait-until.js';

const LISTENING = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** Linux: whether the process has a handler for `signal` (its bit in SigCgt), i.e. the default action no longer applies. */
function catches(p: CliProcess, signal: 'SIGHUP'): boolean {
  const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'))?.[1];
  return caught !== undefined && ((BigInt(`0x${caught}`) >> BigInt(osConstants.signals[signal] - 1)) & 1n) === 1n;
}
const SELECT = { sql: 'select id, name from customers order by id', method: 'all' };
const TENANT1_ROWS = [
  [1, 'T1 Alice'],
  [3, 'T1 Carol'],
  [5, 'T1 Erin'],
];
/** Real processes from source on a shared 2-core machine: generous, the assertions are about states. */
const PROCESS_TEST_MS = 120_000;
/** The fixed wait this change replaced: a statement running longer than it used to be cut off. */
const OLD_FIXED_DRAIN_MS = 10_000;

describeIfPg('shutdown of real processes', { timeout: PROCESS_TEST_MS }, () => {
  let fixture: PgFixture;
  let tokens: TestTokens;
  let dir: string;
  let lock: HeldLock | undefined;
  const procs: CliProcess[] = [];

  beforeAll(async () => {
    fixture = await createPgFixture();
    tokens = await makeTokens();
    dir = mkdtempSync(join(tmpdir(), 'sluice-drain-'));
  });

  afterEach(async () => {
    await lock?.release();
    lock = undefined;
    for (const p of procs.splice(0)) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  });

  afterAll(async () => {
    await fixture?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(args: string[], config: Record<string, unknown>): CliProcess {
    const file = join(dir, `${randomUUID()}.json`);
    // The processes are watched through their log (listening, worker ready, draining).
    writeFileSync(file, JSON.stringify({ ...config, logging: { level: 'info' } }));
    const p = startCli([...args, '--config', file]);
    procs.push(p);
    return p;
  }

  const readyz = async (url: string): Promise<{ status: number; body: { error?: { code: string }; status?: string } }> => {
    const res = await fetch(`${url}/readyz`);
    return { status: res.status, body: (await res.json()) as { error?: { code: string }; status?: string } };
  };

  it('SIGTERM: /readyz says 503 SHUTTING_DOWN for drainDelayMs while /data is still answered, then exit 0', async () => {
    const p = start(['serve'], testConfig(fixture.schema, { server: { drainDelayMs: 15_000 } }));
    const url = (await p.waitFor(LISTENING, 60_000))[1]!;
    expect((await readyz(url)).status).toBe(200);

    p.child.kill('SIGTERM');
    const draining = await waitUntil('/readyz to report the drain', async () => {
      const r = await readyz(url);
      return r.status === 503 ? r : undefined;
    });
    expect(draining.body).toMatchObject({ error: { code: 'SHUTTING_DOWN' }, status: 'draining' });
    // Still serving: a request after readiness went away is answered, not refused.
    const res = await post(url, tokens.tenant1, SELECT);
    expect(res.status).toBe(200);
    expect(res.body.rows).toEqual(TENANT1_ROWS);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(p.child.exitCode).toBeNull();

    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('"delayMs":15000');
    expect(p.output()).toContain('draining: /readyz answers 503');
  });

  it('SIGINT closes at once, whatever drainDelayMs says', async () => {
    const p = start(['serve'], testConfig(fixture.schema, { server: { drainDelayMs: 3_600_000 } }));
    await p.waitFor(LISTENING, 60_000);
    p.child.kill('SIGINT');
    // An hour of delay would outlive the test: exiting at all shows it was skipped.
    expect(await p.exited).toBe(0);
    expect(p.output()).not.toContain('draining:');
  });

  it.skipIf(!existsSync('/proc/self/status'))('a SIGTERM during start-up is held: the process finishes starting, then drains and exits 0', async () => {
    // Nothing listens on port 1: `sluice api` spends its bounded Redis wait before listening.
    const p = start(['api'], testConfig(fixture.schema, { queue: { redis: 'redis://127.0.0.1:1', prefix: `test-${randomUUID()}` } }));
    // SIGHUP is held together with SIGTERM; unlike SIGTERM, nothing else (tsx) catches it before.
    await waitUntil('the process holding signals while it starts', async () => !LISTENING.test(p.output()) && catches(p, 'SIGHUP'), 60_000, 20);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const out = p.output();
    // Not killed by the signal's default action: it started, then shut down through its handler.
    expect(out.indexOf('listening on')).toBeGreaterThan(-1);
    expect(out.indexOf('"signal":"SIGTERM","msg":"shutting down"')).toBeGreaterThan(out.indexOf('listening on'));
  });

  describeIfRedis('sluice worker', () => {
    const prefix = `test-${randomUUID()}`;
    afterAll(() => dropRedisPrefix(prefix));

    it(`lets a statement running longer than ${OLD_FIXED_DRAIN_MS / 1000} s (within queryTimeout) finish on SIGTERM`, async () => {
      const config = testConfig(fixture.schema, { limits: { queryTimeout: 60_000 }, workers: { threads: 1 }, queue: { redis: REDIS_URL, prefix } });
      const api = start(['api'], config);
      const worker = start(['worker'], config);
      const [[, url]] = await Promise.all([api.waitFor(LISTENING, 60_000), worker.waitFor(/worker ready/, 60_000)]);

      lock = await holdLock(PG_TEST_URL, [`lock table ${fixture.schema}.customers in access exclusive mode`]);
      const answer = post(url!, tokens.tenant1, SELECT);
      await waitUntil('the SELECT blocked on the lock', async () => (await blockedBackends(fixture.admin, fixture.schema, '%customers%')).length > 0, 30_000);

      worker.child.kill('SIGTERM');
      await worker.waitFor(/shutting down/);
      await sleep(OLD_FIXED_DRAIN_MS + 1000);
      // Past the old bound the statement is still running, not cancelled, and the worker waits for it.
      expect(await blockedBackends(fixture.admin, fixture.schema, '%customers%')).toHaveLength(1);
      expect(worker.child.exitCode).toBeNull();
      expect(worker.output()).not.toContain('jobs still running after the shutdown wait');

      await lock.release();
      lock = undefined;
      const res = await answer;
      expect(res.status).toBe(200);
      expect(res.body.rows).toEqual(TENANT1_ROWS);
      expect(await worker.exited).toBe(0);
      api.child.kill('SIGTERM');
      expect(await api.exited).toBe(0);
    });
  });
});
