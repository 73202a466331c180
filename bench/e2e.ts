/**
 * End-to-end overhead of sluice against a do-it-yourself Drizzle proxy, measured in one run on the
 * same schema, pool size and query; then the cost of each stage sluice adds. Loopback only.
 *
 *   npm run bench            BENCH_DURATION=10 BENCH_CONNECTIONS=32 BENCH_WARMUP=2 by default
 */
import autocannon from 'autocannon';
import { createEngine } from '../src/engine.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { PG_TEST_URL } from '../test/helpers/skip.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken, TEST_JWT_SECRET } from '../test/helpers/tokens.js';
import { startBareProxy } from './bare-proxy.js';
import { jwtVerifyUs, tenantContextUs, threadHopUs, validatorUs } from './stage-costs.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const THREADS = Number(process.env.BENCH_THREADS ?? 2);
const PER_THREAD = Number(process.env.BENCH_POOL_PER_THREAD ?? 4);
const QUERY = 'select "id", "name", "email" from "customers" where "customers"."id" = $1';

interface Run {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  errors: number;
}

async function drive(url: string, headers: Record<string, string>, seconds: number): Promise<Run> {
  const result = await autocannon({
    url: `${url}/data`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ sql: QUERY, params: [1], method: 'all', typings: ['none'] }),
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, mean: result.latency.average, non2xx: result.non2xx, errors: result.errors };
}

async function measure(name: string, url: string, headers: Record<string, string>): Promise<Run> {
  const probe = await fetch(`${url}/data`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ sql: QUERY, params: [1] }) });
  const text = await probe.text();
  if (!probe.ok) throw new Error(`${name} answered ${probe.status}: ${text}`);
  if (!text.includes('T1 Alice')) throw new Error(`${name} did not return the tenant 1 row: ${text}`);
  if (WARMUP > 0) await drive(url, headers, WARMUP);
  return drive(url, headers, DURATION);
}

const fmt = (n: number, d = 1) => n.toFixed(d).padStart(9);
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

async function main(): Promise<void> {
  const fixture = await createPgFixture();
  const config = testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD } });
  console.log(`sluice bench: ${DURATION}s per target after ${WARMUP}s warm-up, ${CONNECTIONS} connections, ` + `${THREADS} threads × ${PER_THREAD} pg connections (bare proxy: one pool of ${THREADS * PER_THREAD})`);
  console.log(`query: ${QUERY}  [$1 = 1, tenant 1]\n`);
  try {
    const bare = await startBareProxy({ dbUrl: PG_TEST_URL, schema: fixture.schema, poolSize: THREADS * PER_THREAD, tenant: 1 });
    let bareRun: Run;
    try {
      bareRun = await measure('bare proxy', bare.url, {});
    } finally {
      await bare.close();
    }

    const engine = createEngine(config, { logger: false });
    let sluiceRun: Run;
    const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
    try {
      const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
      sluiceRun = await measure('sluice', url, { authorization: `Bearer ${token}` });
    } finally {
      await engine.close();
    }

    console.log('target        req/s    p50 ms    p99 ms   mean ms   non-2xx  errors');
    for (const [name, r] of [['bare', bareRun], ['sluice', sluiceRun]] as const) {
      console.log(`${name.padEnd(8)}${fmt(r.rps, 0)}${fmt(r.p50)}${fmt(r.p99)}${fmt(r.mean, 2)}${String(r.non2xx).padStart(10)}${String(r.errors).padStart(8)}`);
    }
    console.log(`\nsluice/bare: throughput ${ratio(sluiceRun.rps, bareRun.rps)}, p50 ${ratio(sluiceRun.p50, bareRun.p50)}, p99 ${ratio(sluiceRun.p99, bareRun.p99)}`);
    if (sluiceRun.non2xx + sluiceRun.errors + bareRun.non2xx + bareRun.errors > 0) console.log('WARNING: some requests failed; the numbers above are not comparable');

    console.log('\nstage costs (same run, single caller, µs/op):');
    const jwt = await jwtVerifyUs(token, TEST_JWT_SECRET);
    const v = await validatorUs(config, QUERY);
    const hop = await threadHopUs();
    const ctx = await tenantContextUs(PG_TEST_URL, fixture.schema, QUERY);
    const rows: [string, number][] = [
      ['JWT verify (jose HS256)', jwt],
      ['validator, warm cache', v.warm],
      ['validator, cold (parse+check+rewrite)', v.cold],
      ['thread hop (piscina no-op round trip)', hop],
      ['pg plain statement', ctx.plain],
      ['pg sluice lease (context+statement, 1 trip)', ctx.bound],
      ['pg old lease (BEGIN;set_config;stmt;COMMIT)', ctx.fourTrips],
    ];
    // Relative to one plain pg round trip measured the same way (single caller, no load).
    for (const [name, us] of rows) console.log(`  ${name.padEnd(40)}${fmt(us, 1)} µs   ${(us / ctx.plain).toFixed(2).padStart(7)}× a plain pg statement`);
    console.log(`  tenant context / plain statement: ${ratio(ctx.bound, ctx.plain)}; validator cold / warm: ${ratio(v.cold, v.warm)}`);
    console.log(`  extra pg time per request from binding the context: ${fmt(ctx.bound - ctx.plain, 1)} µs`);
  } finally {
    await fixture.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
