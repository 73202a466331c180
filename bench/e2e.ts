/**
 * End-to-end overhead of sluice against a do-it-yourself Drizzle proxy, measured in one run on the
 * same schema, pool size and query; then the cost of each stage sluice adds. Loopback only.
 *
 *   npm run bench            BENCH_DURATION=10 BENCH_CONNECTIONS=32 BENCH_WARMUP=2 by default
 */
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { PG_TEST_URL } from '../test/helpers/skip.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken, TEST_JWT_SECRET } from '../test/helpers/tokens.js';
import { startBareProxy } from './bare-proxy.js';
import { jwtVerifyUs, tenantContextUs, threadHopUs, validatorUs } from './stage-costs.js';
import { CONNECTIONS, DURATION, fmt, measureBare, measureSluice, PER_THREAD, printComparison, ratio, THREADS, WARMUP } from './load.js';

const QUERY = 'select "id", "name", "email" from "customers" where "customers"."id" = $1';
const BODY = { sql: QUERY, params: [1], method: 'all', typings: ['none'] };

async function main(): Promise<void> {
  const fixture = await createPgFixture();
  const config = testConfig(fixture.schema, { workers: { threads: THREADS }, connection: { max: PER_THREAD } });
  // The bench is one tenant: by default the fair queue lets a tenant hold half of a connection's
  // slots. BENCH_TENANT_MAX_CONCURRENT raises that cap (e.g. to threads × max, i.e. no cap).
  const tenantCap = process.env.BENCH_TENANT_MAX_CONCURRENT;
  if (tenantCap !== undefined) config.tenants = { default: { connection: 'main' }, maxConcurrent: Number(tenantCap) };
  console.log(`sluice bench: ${DURATION}s per target after ${WARMUP}s warm-up, ${CONNECTIONS} connections, ` + `${THREADS} threads × ${PER_THREAD} pg connections (bare proxy: one pool of ${THREADS * PER_THREAD})`);
  console.log(`query: ${QUERY}  [$1 = 1, tenant 1]\n`);
  try {
    const bare = await startBareProxy({ dbUrl: PG_TEST_URL, schema: fixture.schema, poolSize: THREADS * PER_THREAD, tenant: 1 });
    const bareRun = await measureBare(bare, BODY, 'T1 Alice');

    const sluiceRun = await measureSluice(config, BODY, 'T1 Alice');

    printComparison('', bareRun, sluiceRun);

    console.log('\nstage costs (same run, single caller, µs/op):');
    const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
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
