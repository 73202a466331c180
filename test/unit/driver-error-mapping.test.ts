/**
 * Data-dependent database errors must map to INVALID_INPUT: that is what makes run-job retry the
 * fenced form, whose answer cannot depend on another tenant's row. Everything else must not.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { mapMysqlError } from '../../src/drivers/mysql/mysql-errors.js';
import { mapSqliteError } from '../../src/drivers/sqlite/sqlite-errors.js';

function sqliteError(sql: string): unknown {
  const db = new Database(':memory:');
  try {
    db.prepare(sql).all();
  } catch (e) {
    return e;
  } finally {
    db.close();
  }
  throw new Error(`expected SQLite to fail: ${sql}`);
}

describe('SQLite error mapping', () => {
  it.each([
    ["select json_extract('{oops', '$')", 'malformed JSON'],
    ["select json_extract('{}', 'not-a-path')", 'bad JSON path'],
    ["select 'a' like 'a' escape 'xy'", 'ESCAPE of two characters'],
    ['select ntile(0) over () from (select 1)', 'ntile(0)'],
  ])('%s → INVALID_INPUT (%s)', (sql) => {
    const e = mapSqliteError(sqliteError(sql));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).not.toContain('oops');
  });

  it('keeps schema and syntax errors apart from data errors', () => {
    expect(mapSqliteError(sqliteError('select * from nowhere')).code).toBe('UNDEFINED_OBJECT');
    expect(mapSqliteError(sqliteError('select from from')).code).toBe('INVALID_SQL');
  });
});

describe('MySQL/MariaDB error mapping', () => {
  const err = (errno: number, sqlState: string, sqlMessage: string) => Object.assign(new Error(sqlMessage), { errno, sqlState, sqlMessage, code: 'ER_X' });

  it.each([
    [4038, 'HY000', 'Syntax error in JSON text in argument 1 to function json_extract at position 2'],
    [4042, 'HY000', 'Syntax error in JSON path in argument 2'],
    [1139, '42000', "Got error 'missing )' from regexp"],
    [1958, 'HY000', 'Bad base64 data as position 3'],
    [3141, '22032', 'Invalid JSON text in argument 1'],
    [3692, 'HY000', 'Mismatched parenthesis in regular expression.'],
    [1690, '22003', "BIGINT value is out of range in '`t`.`secret` - 1'"],
  ])('errno %i → INVALID_INPUT, message not passed through', (errno, state, message) => {
    const e = mapMysqlError(err(errno, state, message));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).not.toBe(message);
    expect(e.message).not.toContain('secret');
  });

  it('a duplicate key names the key, never the other row\'s value', () => {
    const e = mapMysqlError(err(1062, '23000', "Duplicate entry 'ceo@other-tenant.example' for key 'email'"));
    expect(e.code).toBe('UNIQUE_VIOLATION');
    expect(e.message).not.toContain('other-tenant');
  });

  it('syntax errors stay INVALID_SQL', () => {
    expect(mapMysqlError(err(1064, '42000', 'You have an error in your SQL syntax')).code).toBe('INVALID_SQL');
  });
});
