/**
 * `sql.sqliteParser`: node-sql-parser by default; sql-parser-cst (GPL-2.0-or-later) only when chosen,
 * loaded lazily, and a start-up config error naming the key when it is chosen but not installed.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import { parseConfig } from '../../../src/config/schema.js';
import { loadCst, requireCstInstalled } from '../../../src/sql/cst/load.js';
import { createValidator } from '../../../src/sql/create-validator.js';
import { configErrorOf, withConnection } from '../../helpers/config-error.js';
import { dialectConfig } from '../../fixtures/drizzle-dialect-config.js';

const sqlite = { dialect: 'sqlite', file: '/tmp/sluice-parser-choice.db' };
const notFound = (name: string): never => {
  throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
};

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('sql.sqliteParser', () => {
  it('is absent by default (node-sql-parser) and accepts sql-parser-cst (installed here as a devDependency)', () => {
    expect(parseConfig(withConnection(sqlite)).sql.sqliteParser).toBeUndefined();
    expect(parseConfig({ ...withConnection(sqlite), sql: { sqliteParser: 'sql-parser-cst' } }).sql.sqliteParser).toBe('sql-parser-cst');
  });

  it('refuses another parser name, naming the key', () => {
    expect(configErrorOf({ ...withConnection(sqlite), sql: { sqliteParser: 'sqlparser-rs' } })).toMatch(/^config error at sql\.sqliteParser: /);
  });

  it('is a config error naming the key and the install command when the package is missing', () => {
    const e = configError(() => requireCstInstalled(notFound));
    expect(e.issues).toEqual([{ path: 'sql.sqliteParser', message: expect.stringContaining('npm install sql-parser-cst') }]);
    expect(e.message).toContain('GPL-2.0-or-later');
    expect(e.message).toContain('is not installed');
  });

  it('the lazy loader fails the same way, and refuses a module without the functions it uses', () => {
    expect(configError(() => loadCst(notFound)).issues[0]!.path).toBe('sql.sqliteParser');
    expect(configError(() => loadCst(() => ({}))).message).toContain('parse or cstTransformer missing');
    const cst = loadCst();
    expect(typeof cst.parse).toBe('function');
    expect(() => requireCstInstalled()).not.toThrow();
  });

  it('reads SQLite with the chosen parser: a chained ON CONFLICT only sql-parser-cst can read', () => {
    const sql = "insert into customers (id, name) values (2, 'x') on conflict (id) do nothing on conflict (email) do update set name = 'y'";
    const code = (parser: 'node-sql-parser' | 'sql-parser-cst'): string => {
      const config = dialectConfig('sqlite');
      config.sql = { ...config.sql, sqliteParser: parser };
      try {
        createValidator(config, 'main').check({ sql, role: 'member' });
        return 'accepted';
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code('node-sql-parser')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code('sql-parser-cst')).toBe('accepted');
  });

  it('never loads sql-parser-cst unless chosen', () => {
    const script = fileURLToPath(new URL('../../helpers/sqlite-parser-probe.ts', import.meta.url));
    const probe = (parser: string): { loaded: boolean; sql: string } =>
      JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', script, parser], { encoding: 'utf8', timeout: 60_000 })) as { loaded: boolean; sql: string };
    const byDefault = probe('node-sql-parser');
    expect(byDefault.loaded).toBe(false);
    expect(byDefault.sql).toContain('"customers"');
    expect(probe('sql-parser-cst').loaded).toBe(true);
  });
});
