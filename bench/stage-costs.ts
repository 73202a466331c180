/** Micro-benchmarks of each stage a sluice request pays for, in µs per operation. */
import { jwtVerify } from 'jose';
import pg from 'pg';
import { Piscina } from 'piscina';
import { parseConfig } from '../src/config/schema.js';
import type { SluiceConfig } from '../src/config/types.js';
import type { ExecuteRequest } from '../src/drivers/driver.js';
import { runLease } from '../src/drivers/pg/pg-lease.js';
import { createValidator, loadSqlParsers } from '../src/sql/create-validator.js';

async function perOp(n: number, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(n, 200); i++) await fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

export async function jwtVerifyUs(token: string, secret: string): Promise<number> {
  const key = new TextEncoder().encode(secret);
  return perOp(20_000, () => jwtVerify(token, key, { algorithms: ['HS256'] }));
}

export async function validatorUs(rawConfig: unknown, sql: string): Promise<{ warm: number; cold: number }> {
  await loadSqlParsers();
  const config = parseConfig(rawConfig) as SluiceConfig;
  const validator = createValidator(config, 'main');
  const warm = await perOp(50_000, () => validator.check({ sql, role: 'member' }));
  // A distinct text every time: always a cache miss, so parse + walk + rewrite + deparse.
  const cold = await perOp(3_000, (i) => validator.check({ sql: `${sql} and "customers"."id" <> ${i + 1_000_000}`, role: 'member' }));
  return { warm, cold };
}

export async function threadHopUs(): Promise<number> {
  const piscina = new Piscina({ filename: new URL('./noop-worker.mjs', import.meta.url).href, minThreads: 1, maxThreads: 1 });
  try {
    return await perOp(20_000, (i) => piscina.run(i));
  } finally {
    await piscina.destroy();
  }
}

/**
 * Plain statement vs sluice's lease (pg-lease.ts: context + statement pipelined, one round trip),
 * and the earlier 4-round-trip lease (BEGIN; set_config; statement; COMMIT) for comparison.
 */
export async function tenantContextUs(dbUrl: string, schema: string, sql: string): Promise<{ plain: number; bound: number; fourTrips: number }> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    const text = `${sql.replaceAll('"customers"', `"${schema}"."customers"`)} and "tenant_id" = $2`;
    const plain = await perOp(3_000, () => client.query({ text, values: [1, 1] }));
    const claims = { sub: 'bench', role: 'member', tenant_id: 1 };
    const lease = (): ExecuteRequest => ({ jobId: 'bench', sql: text, params: [1, 1], method: 'all', claims, timeoutMs: 30_000, maxRows: 100, maxResponseBytes: 32 * 1024 * 1024, readOnly: true });
    const bound = await perOp(3_000, () => runLease(client as unknown as pg.PoolClient, lease(), undefined, { cancelled: false }, () => undefined));
    const fourTrips = await perOp(3_000, async () => {
      await client.query('BEGIN READ ONLY');
      await client.query({ text: "select set_config('request.jwt.claims', $1, true), set_config('statement_timeout', $2, true)", values: [JSON.stringify(claims), '30000'] });
      await client.query({ text, values: [1, 1] });
      await client.query('COMMIT');
    });
    return { plain, bound, fourTrips };
  } finally {
    await client.end();
  }
}
