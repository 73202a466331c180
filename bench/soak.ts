/**
 * Overload soak (issue 6). Sluice runs in this process over a fresh Postgres schema; the load comes
 * from bench/soak-client.ts in a child process (so its memory and CPU are not sluice's). Phases:
 *
 *   baseline  BENCH_CONNECTIONS connections, closed loop: the sustainable rate S and baseline latency
 *   overload  SOAK_CONNECTIONS_X × as many connections offering SOAK_RATE_X × S, for SOAK_SECONDS
 *   rest      SOAK_REST_SECONDS idle, then the probe
 *   probe     the baseline load again: latency and throughput must be back near the baseline
 *
 * Every request is the same select over `customers` from one of SOAK_TENANTS × SOAK_USERS tokens;
 * every 200 must be exactly the sender's tenant's rows. Exits non-zero on a wrong 200, any 5xx other
 * than 503 OVERLOADED, any other 4xx than 429, a connection error or timeout, or a probe p50 above
 * SOAK_RECOVERY_MAX × the baseline p50. Also reports the process's RSS and heap (before, peak,
 * after; sampled every second, GC forced at the marks under --expose-gc), open file descriptors,
 * event-loop delay and latency ratios against the baseline of the same run. Loopback only.
 *
 *   npm run bench:soak                     SOAK_SECONDS=180 by default
 *   SOAK_SECONDS=20 npm run bench:soak
 */
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createEngine } from '../src/engine.js';
import { createPgFixture, type PgFixture } from '../test/helpers/pg-fixture.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken } from '../test/helpers/tokens.js';
import { CONNECTIONS, PER_THREAD, THREADS } from './load.js';
import type { Caller, PhaseRequest, PhaseResult, Tick } from './soak-client.js';
import { printSummary, type PhaseReport } from './soak-report.js';
import { startMemorySampler } from './soak-memory.js';

const env = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const SOAK_SECONDS = env('SOAK_SECONDS', 180);
const BASELINE_SECONDS = env('SOAK_BASELINE_SECONDS', 5);
const PROBE_SECONDS = env('SOAK_PROBE_SECONDS', 5);
/**
 * The most the warm-up may take. It ends earlier once the 200/s of the last 3 seconds agree within
 * 15%: sluice and the load client both need several seconds here before V8 has optimised their hot
 * paths (a fixed 2 s warm-up left the baseline 2–4× below the probe after the overload).
 */
const WARMUP_SECONDS = env('SOAK_WARMUP_SECONDS', 15);
/** A plateau earlier than this was seen to be followed by a second climb. */
const WARMUP_MIN_SECONDS = Math.min(WARMUP_SECONDS, env('SOAK_WARMUP_MIN_SECONDS', 5));
const REST_SECONDS = env('SOAK_REST_SECONDS', 1);
const TENANTS = env('SOAK_TENANTS', 16);
const USERS = env('SOAK_USERS', 2);
const CONNECTIONS_X = env('SOAK_CONNECTIONS_X', 8);
const RATE_X = env('SOAK_RATE_X', 4);
/** The waiting line is kept short so the overload is shed (503) rather than only queued. */
const MAX_WAITING = env('SOAK_MAX_WAITING', 2 * CONNECTIONS);
const MAX_WAIT_MS = env('SOAK_MAX_WAIT_MS', 2000);
/** Requests per user per minute; 0 (default) leaves the limiter off so the overload reaches the queue. */
const RATE_LIMIT = env('SOAK_RATE_LIMIT', 0);
const RECOVERY_MAX = env('SOAK_RECOVERY_MAX', 2);
const SEED = env('SOAK_SEED', 20261128);

const QUERY = 'select "id", "tenant_id", "name" from "customers" order by "id"';
const BODY = JSON.stringify({ sql: QUERY, params: [], method: 'all' });

/** Tenants 3..N get three customers each; tenants 1 and 2 come with the fixture. */
async function seedTenants(fixture: PgFixture): Promise<void> {
  const rows: unknown[][] = [];
  for (let t = 3; t <= TENANTS; t++) for (let j = 0; j < 3; j++) rows.push([1000 + t * 10 + j, t, `T${t} soak-${j}`, `c${j}@t${t}.soak`]);
  if (rows.length === 0) return;
  await fixture.admin.query(
    `insert into ${fixture.schema}.customers (id, tenant_id, name, email) select * from unnest($1::int[], $2::int[], $3::text[], $4::text[])`,
    [0, 1, 2, 3].map((i) => rows.map((r) => r[i])),
  );
}

/** One token per user, and per tenant the exact body a 200 must be (checked against the database). */
async function callersAndExpectations(fixture: PgFixture, url: string): Promise<{ callers: Caller[]; expected: Record<number, string> }> {
  const callers: Caller[] = [];
  const expected: Record<number, string> = {};
  for (let t = 1; t <= TENANTS; t++) {
    const truth = (await fixture.admin.query({ text: `select id, tenant_id, name from ${fixture.schema}.customers where tenant_id = $1 order by id`, values: [t], rowMode: 'array' })).rows;
    for (let u = 0; u < USERS; u++) {
      const token = await signToken({ sub: `soak-t${t}-u${u}`, role: 'member', tenant_id: t }, { expiresIn: '6h' });
      const res = await fetch(`${url}/data`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: BODY });
      const text = await res.text();
      if (res.status !== 200 || JSON.stringify((JSON.parse(text) as { rows: unknown }).rows) !== JSON.stringify(truth)) {
        throw new Error(`tenant ${t} answered ${res.status} ${text}, expected rows ${JSON.stringify(truth)}`);
      }
      if (expected[t] !== undefined && expected[t] !== text) throw new Error(`two users of tenant ${t} got different bodies`);
      expected[t] = text;
      callers.push({ token, tenant: t });
    }
  }
  return { callers, expected };
}

type Client = ReturnType<typeof fork>;

function startClient(): Promise<Client> {
  const child = fork(new URL('./soak-client.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`load client exited with ${code}`)));
  });
}

function runPhase(client: Client, p: Omit<PhaseRequest, 'type'>, onTick?: (t: Tick) => void): Promise<PhaseResult> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: PhaseResult | Tick): void => {
      if (m.type === 'tick') return onTick?.(m);
      client.off('message', onMessage);
      client.off('exit', onExit);
      resolve(m);
    };
    const onExit = (code: number | null): void => reject(new Error(`load client exited with ${code} during ${p.name}`));
    client.on('message', onMessage);
    client.once('exit', onExit);
    client.send({ type: 'phase', ...p } satisfies PhaseRequest);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Three per-second rates within ±15% of their mean. */
function steady(last: number[]): boolean {
  if (last.length < 3) return false;
  const mean = last.reduce((a, b) => a + b, 0) / last.length;
  return mean > 0 && last.every((r) => Math.abs(r - mean) <= 0.15 * mean);
}

async function soak(starting: Promise<Client>): Promise<void> {
  const fixture = await createPgFixture();
  const config = testConfig(fixture.schema, {
    workers: { threads: THREADS },
    connection: { max: PER_THREAD },
    queue: { maxWaiting: MAX_WAITING, maxWaitMs: MAX_WAIT_MS },
    limits: { rateLimitPerUser: RATE_LIMIT },
  });
  const engine = createEngine(config, { logger: false });
  // Recorded, not fatal, so the summary still prints; any entry fails the run.
  const crashes: string[] = [];
  process.on('uncaughtException', (e) => crashes.push(`uncaught: ${e.stack ?? String(e)}`));
  process.on('unhandledRejection', (e) => crashes.push(`unhandled rejection: ${e instanceof Error ? e.stack : String(e)}`));
  try {
    await seedTenants(fixture);
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    const { callers, expected } = await callersAndExpectations(fixture, url);
    const client = await starting;
    console.log(
      `soak: ${TENANTS} tenants × ${USERS} users, ${THREADS} threads × ${PER_THREAD} pg connections, queue.maxWaiting ${MAX_WAITING}, ` +
        `maxWaitMs ${MAX_WAIT_MS}, rateLimitPerUser ${RATE_LIMIT || 'off'}; baseline ${CONNECTIONS} connections × ${BASELINE_SECONDS}s, ` +
        `overload ${CONNECTIONS * CONNECTIONS_X} connections × ${SOAK_SECONDS}s at ${RATE_X || 'unlimited'}× the baseline rate`,
    );
    const memory = startMemorySampler();
    const eld = monitorEventLoopDelay({ resolution: 10 });
    eld.enable();
    const reports: PhaseReport[] = [];
    const phase = (name: string, connections: number, seconds: number, overallRate: number, onTick?: (t: Tick) => void): Promise<PhaseResult> =>
      runPhase(client, { name, url, body: BODY, connections, seconds, overallRate, callers, expected, seed: SEED + name.length }, onTick);
    const measured = async (name: string, connections: number, seconds: number, overallRate: number, onTick?: (t: Tick) => void): Promise<PhaseReport> => {
      eld.reset();
      const cpu = process.cpuUsage();
      const wall = performance.now();
      const result = await phase(name, connections, seconds, overallRate, onTick);
      const used = process.cpuUsage(cpu);
      const cpuPct = (100 * (used.user + used.system)) / 1000 / (performance.now() - wall);
      const report = { result, seconds, connections, eventLoopP99Ms: eld.percentile(99) / 1e6, cpuPct };
      reports.push(report);
      return report;
    };

    if (WARMUP_SECONDS > 0) {
      const rates: number[] = [];
      let prev = 0;
      const started = performance.now();
      await phase('warm-up', CONNECTIONS, WARMUP_SECONDS, 0, (t) => {
        rates.push(t.counts.ok - prev);
        prev = t.counts.ok;
        if (rates.length >= WARMUP_MIN_SECONDS && steady(rates.slice(-3))) client.send({ type: 'stop' });
      });
      console.log(`warm-up: ${((performance.now() - started) / 1000).toFixed(0)} s, last rates ${rates.slice(-3).join(' / ')} 200/s`);
    }
    const baseline = await measured('baseline', CONNECTIONS, BASELINE_SECONDS, 0);
    const sustainable = baseline.result.counts.ok / BASELINE_SECONDS;
    await memory.mark('before');

    let second = 0;
    await measured('overload', CONNECTIONS * CONNECTIONS_X, SOAK_SECONDS, Math.round(RATE_X * sustainable), (t) => {
      // A progress line every 10 s, so a long soak shows whether memory keeps climbing.
      if (++second % 10 !== 0) return;
      const m = memory.latest();
      const bad = t.counts.wrong + t.counts.other5xx + t.counts.other;
      console.log(`  t=${String(second).padStart(4)}s  200: ${t.counts.ok}  503: ${t.counts.shed}  429: ${t.counts.limited}  bad: ${bad}  rss ${m.rssMb.toFixed(0)} MB  heap ${m.heapMb.toFixed(0)} MB`);
    });
    memory.endPeak();
    await sleep(REST_SECONDS * 1000);
    await measured('probe', CONNECTIONS, PROBE_SECONDS, 0);
    await memory.mark('after');
    eld.disable();
    memory.stop();

    const failures = printSummary({ reports, sustainable, memory: memory.report(), recoveryMax: RECOVERY_MAX, crashes });
    if (failures.length > 0) {
      console.log(`\nFAIL:\n  ${failures.join('\n  ')}`);
      process.exitCode = 1;
    } else console.log('\nPASS');
  } finally {
    await engine.close();
    await fixture.drop();
  }
}

async function main(): Promise<void> {
  // The load client (a tsx child process) starts while the schema is made.
  const starting = startClient();
  starting.catch(() => undefined);
  try {
    await soak(starting);
  } finally {
    (await starting.catch(() => undefined))?.kill();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
