/**
 * A gateway over one connection of any dialect (a SQLite file, `{ url, max }` for MySQL…) with the
 * `member` role of the public contract, listening on a free port, and the test tokens.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSqliteAdminSql } from '../../src/drivers/sqlite/sqlite-admin.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { memberPermissions } from './test-config.js';
import { TEST_JWT_SECRET, makeTokens, type TestTokens } from './tokens.js';

export interface DialectEngine {
  engine: Engine;
  url: string;
  tokens: TestTokens;
}

type EngineOptions = { permissions?: Record<string, unknown>; limits?: Record<string, unknown>; threads?: number };

export async function startDialectEngine(
  connection: unknown,
  o: EngineOptions = {},
): Promise<DialectEngine> {
  const engine = createEngine(
    {
      server: { host: '127.0.0.1', port: 0 },
      auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
      connections: { main: connection },
      limits: { rateLimitPerUser: 0, rateLimitPerIP: 0, ...o.limits },
      workers: { threads: o.threads ?? 1 },
      logging: { level: 'silent' },
      permissions: o.permissions ?? memberPermissions(),
    },
    { logger: false },
  );
  try {
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    return { engine, url, tokens: await makeTokens() };
  } catch (err) {
    await engine.close().catch(() => undefined);
    throw err;
  }
}

export interface SqliteEngine extends DialectEngine {
  /** The database file, for the test's own direct reads. */
  file: string;
  /** Close the engine and remove the file's folder. */
  close(): Promise<void>;
}

/** startDialectEngine over a fresh SQLite file in a temp folder, made from `fixture` (schema and seed). */
export async function startSqliteEngine(fixture: string, o: EngineOptions = {}): Promise<SqliteEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-sqlite-'));
  const file = join(dir, 'app.db');
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    runSqliteAdminSql(file, fixture);
    const gw = await startDialectEngine(file, o);
    return {
      ...gw,
      file,
      async close() {
        try {
          await gw.engine.close();
        } finally {
          remove();
        }
      },
    };
  } catch (err) {
    remove();
    throw err;
  }
}
