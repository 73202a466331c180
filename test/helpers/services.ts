/**
 * Real services for integration tests. A suite whose service is unreachable is skipped locally but
 * FAILS under CI (CI=true): a broken CI environment must never pass by skipping everything.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { describe } from 'vitest';

export const PG_URL = process.env.PG_URL ?? process.env.SLUICE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function pgAvailable(url: string = PG_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** true: run; false: skip. Throws when CI=true so the run fails loudly instead of skipping. */
export function requireService(name: string, available: boolean): boolean {
  if (available) return true;
  if (process.env.CI === 'true') throw new Error(`${name} is not reachable and CI=true: integration tests must not be skipped`);
  return false;
}

const pgUp = requireService('Postgres', await pgAvailable());

/** describe() when Postgres answers, describe.skip() otherwise (and a failure under CI). */
export const describeIfPg: typeof describe = pgUp ? describe : (describe.skip as typeof describe);

/** A fresh `t_<random>` schema; drop it in afterAll/afterEach. */
export async function createTestSchema(admin: pg.Pool): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await admin.query(`create schema ${schema}`);
  return { schema, drop: async () => void (await admin.query(`drop schema if exists ${schema} cascade`)) };
}
