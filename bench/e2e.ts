/**
 * sluice against a hand-written Drizzle proxy ("bare twin") on every path, each pair measured in
 * the same run: throughput, p50/p99 and CPU per request split by process (gateway, database,
 * Redis). The load generator runs in its own process. Loopback only.
 *
 *   npm run bench     BENCH_PATHS=postgres,mysql,sqlite,queue BENCH_DURATION=8 BENCH_WARMUP=5
 *                     BENCH_CONNECTIONS=32 BENCH_THREADS=2 BENCH_POOL_PER_THREAD=4 BENCH_STAGES=1
 */
import { PG_TEST_URL } from '../test/helpers/skip.js';
import { testConfig } from '../test/helpers/test-config.js';
import { createPgFixture } from '../test/helpers/pg-fixture.js';
import { signToken, TEST_JWT_SECRET } from '../test/helpers/tokens.js';
import { CONNECTIONS, DURATION, fmt, ratio, ratioLine, WARMUP } from './load.js';
import { mysqlPath } from './mysql-e2e.js';
import { PG_QUERY, postgresPath, queuePath, type PathResult } from './paths.js';
import { sqlitePath } from './sqlite-e2e.js';
import { jwtVerifyUs, tenantContextUs, threadHopUs, validatorUs } from './stage-costs.js';

const PATHS: Record<string, () => Promise<PathResult>> = { postgres: postgresPath, mysql: mysqlPath, sqlite: sqlitePath, queue: queuePath };

/** Single-caller stage costs (BENCH_STAGES=1): where a request's time goes, without load. */
async function stageCosts(): Promise<void> {
  const fixture = await createPgFixture();
  try {
    const config = testConfig(fixture.schema);
    console.log('\nstage costs (single caller, µs/op):');
    const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
    const jwt = await jwtVerifyUs(token, TEST_JWT_SECRET);
    const v = await validatorUs(config, PG_QUERY);
    const hop = await threadHopUs();
    const ctx = await tenantContextUs(PG_TEST_URL, fixture.schema, PG_QUERY);
    const rows: [string, number][] = [
      ['JWT verify (jose HS256)', jwt],
      ['validator, warm cache', v.warm],
      ['validator, cold (parse+check+rewrite)', v.cold],
      ['thread hop (piscina no-op round trip)', hop],
      ['pg plain statement', ctx.plain],
      ['pg sluice lease (context+statement, 1 trip)', ctx.bound],
      ['pg old lease (BEGIN;set_config;stmt;COMMIT)', ctx.fourTrips],
    ];
    for (const [name, us] of rows) console.log(`  ${name.padEnd(40)}${fmt(us, 1)} µs   ${(us / ctx.plain).toFixed(2).padStart(7)}× a plain pg statement`);
    console.log(`  tenant context / plain statement: ${ratio(ctx.bound, ctx.plain)}; validator cold / warm: ${ratio(v.cold, v.warm)}`);
  } finally {
    await fixture.drop();
  }
}

async function main(): Promise<void> {
  const names = (process.env.BENCH_PATHS ?? 'postgres,mysql,sqlite,queue').split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!Object.hasOwn(PATHS, n)) throw new Error(`BENCH_PATHS: unknown path "${n}" (known: ${Object.keys(PATHS).join(', ')})`);
  const started = Date.now();
  console.log(`sluice bench: ${names.join(', ')}; ${DURATION}s per target after ${WARMUP}s warm-up, ${CONNECTIONS} connections, load generator in its own process`);
  const results: PathResult[] = [];
  for (const n of names) results.push(await PATHS[n]!());
  if (process.env.BENCH_STAGES === '1') await stageCosts();

  console.log(`\n== summary (sluice / bare twin, same run; ${Math.round((Date.now() - started) / 1000)} s)`);
  console.log('path            bare req/s  sluice req/s | CPU µs/req bare (gw+db+redis) | sluice (gw+db+redis)');
  for (const { name, bare, sluice } of results) {
    const split = (r: PathResult['bare']): string => `${r.cpu.gateway.toFixed(0)}+${(r.cpu.database ?? 0).toFixed(0)}+${(r.cpu.redis ?? 0).toFixed(0)}`;
    console.log(`${name.padEnd(16)}${fmt(bare.rps, 0)}   ${fmt(sluice.rps, 0)}   | ${split(bare).padStart(26)}     | ${split(sluice).padStart(18)}`);
    console.log(`  ${ratioLine(bare, sluice)}`);
  }
  if (results.some((r) => r.bare.non2xx + r.bare.errors + r.sluice.non2xx + r.sluice.errors > 0)) console.log('WARNING: some requests failed; see the tables above');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
