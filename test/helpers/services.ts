/**
 * Real services for integration tests. A suite whose service is unreachable is skipped locally but
 * FAILS under CI (CI=true): a broken CI environment must never pass by skipping everything.
 */
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
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

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A raw PING over TCP: tests need no Redis client library to know whether Redis answers. */
export function redisAvailable(url: string = REDIS_URL, timeoutMs = 2000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

const redisUp = requireService('Redis', await redisAvailable());

/** describe() when Redis answers, describe.skip() otherwise (and a failure under CI). */
export const describeIfRedis: typeof describe = redisUp ? describe : (describe.skip as typeof describe);

export const MYSQL_URL = process.env.MYSQL_URL ?? process.env.SLUICE_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export async function mysqlAvailable(url: string = MYSQL_URL): Promise<boolean> {
  const mysql = (await import('mysql2/promise')).default;
  let conn: Awaited<ReturnType<typeof mysql.createConnection>> | undefined;
  try {
    conn = await mysql.createConnection({ uri: url, connectTimeout: 2000 });
    await conn.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await conn?.end().catch(() => undefined);
  }
}

const mysqlUp = requireService('MariaDB/MySQL', await mysqlAvailable());

/** describe() when MariaDB/MySQL answers, describe.skip() otherwise (and a failure under CI). */
export const describeIfMysql: typeof describe = mysqlUp ? describe : (describe.skip as typeof describe);

/** One Redis command over a raw socket (RESP); resolves the raw reply text. Tests only. */
export function redisCommand(args: string[], url: string = REDIS_URL): Promise<string> {
  const { hostname, port } = new URL(url);
  const payload = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    socket.setTimeout(5000, () => (socket.destroy(), reject(new Error('redis command timed out'))));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(payload));
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString());
    });
  });
}

/** Delete every key under `prefix:` (a test's own namespace). */
export async function dropRedisPrefix(prefix: string, url: string = REDIS_URL): Promise<void> {
  const script = "local n = 0 for _, k in ipairs(redis.call('keys', ARGV[1])) do redis.call('del', k) n = n + 1 end return n";
  await redisCommand(['EVAL', script, '0', `${prefix}:*`], url);
}
