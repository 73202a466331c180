/**
 * Data-dependent database errors map to a stable 4xx (INVALID_INPUT for bad values), and every
 * error whose occurrence can depend on the rows a statement evaluated is marked `rowDependent`:
 * that is what makes run-job retry the fenced form, whose answer cannot depend on another tenant's
 * row (issue 11, finding 6). Fail closed: only errors known to be row-independent are not marked.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { mapMysqlError } from '../../src/drivers/mysql/mysql-errors.js';
import { mapPgError } from '../../src/drivers/pg/pg-errors.js';
import { duringStep, mapSqliteError } from '../../src/drivers/sqlite/sqlite-errors.js';
import { SluiceError } from '../../src/errors.js';

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

describe('row dependence: which errors the fenced form must answer instead', () => {
  const pgError = (code: string, where?: string): pg.DatabaseError => {
    const e = new pg.DatabaseError('relation "T2SECRET" failed', 1, 'error');
    e.code = code;
    if (where !== undefined) e.where = where;
    return e;
  };

  it.each([
    ['54000', 'INVALID_SQL'], // program_limit_exceeded (array_fill): the finding
    ['54001', 'INVALID_SQL'], // stack depth (to_tsquery on a long value)
    ['22012', 'INVALID_INPUT'],
    ['21000', 'INVALID_INPUT'],
    ['2F005', 'ROUTINE_ERROR'],
    ['38001', 'ROUTINE_ERROR'],
    ['39004', 'ROUTINE_ERROR'],
    ['P0001', 'ROUTINE_ERROR'],
    ['P0004', 'ROUTINE_ERROR'],
    ['0A000', 'INVALID_SQL'],
    ['53200', 'DATABASE_UNAVAILABLE'], // out of memory: a value can cause it
    ['44000', 'CHECK_VIOLATION'],
    ['XX000', 'INTERNAL_ERROR'],
    ['ZZ999', 'INTERNAL_ERROR'], // a class nobody listed: fail closed
  ])('Postgres %s → %s, row-dependent', (code, mapped) => {
    const e = mapPgError(pgError(code));
    expect(e.code).toBe(mapped);
    expect(e.rowDependent).toBe(true);
    if (mapped !== 'INTERNAL_ERROR' && mapped !== 'DATABASE_UNAVAILABLE') expect(e.status).toBe(400);
    expect(e.message).not.toContain('T2SECRET');
    expect(e.toBody()).not.toHaveProperty('rowDependent');
  });

  it.each(['42601', '42P01', '42703', '42501', '23505', '23503', '25006', '40001', '40P01', '55P03', '57014', '08006', '28000', '53300'])(
    'Postgres %s is row-independent (raised before rows are read, by the rows written, or by the server)',
    (code) => {
      expect(mapPgError(pgError(code)).rowDependent).toBe(false);
    },
  );

  it('Postgres: an error raised inside a function is row-dependent whatever its SQLSTATE', () => {
    for (const code of ['42P01', '23505', '08006', '57014']) {
      expect(mapPgError(pgError(code, 'PL/pgSQL function f(integer) line 1 at RAISE')).rowDependent, code).toBe(true);
    }
  });

  it('Postgres: a cancel or termination while waiting for a row lock is not (its context names only the wait)', () => {
    for (const code of ['57014', '57P01']) {
      expect(mapPgError(pgError(code, 'while updating tuple (0,1) in relation "customers"')).rowDependent, code).toBe(false);
      expect(mapPgError(pgError(code, 'while locking tuple (3,12) in relation "order_items"')).rowDependent, code).toBe(false);
      // Anything else in the context, or a lock wait inside a function: still row-dependent.
      expect(mapPgError(pgError(code, 'while updating tuple (0,1) in relation "customers"\nPL/pgSQL function f() line 3 at SQL statement')).rowDependent, code).toBe(true);
      expect(mapPgError(pgError(code, 'SQL function "g" statement 1')).rowDependent, code).toBe(true);
    }
  });

  it.each(['28000', '28P01', '3D000'])('Postgres %s (the gateway\'s login refused, its database gone) is 503 DATABASE_UNAVAILABLE, not a 500', (code) => {
    const e = mapPgError(pgError(code));
    expect(e.code).toBe('DATABASE_UNAVAILABLE');
    expect(e.status).toBe(503);
    expect(e.rowDependent).toBe(false);
  });

  const my = (errno: number, sqlState: string) => Object.assign(new Error('x'), { errno, sqlState, sqlMessage: 'x', code: 'ER_X' });

  it.each([
    [1690, '22003', 'INVALID_INPUT'],
    [1242, '21000', 'INVALID_INPUT'],
    [4038, 'HY000', 'INVALID_INPUT'],
    [1139, '42000', 'INVALID_INPUT'],
    [4024, 'HY000', 'INVALID_INPUT'], // MariaDB: NTILE argument
    [1644, '45000', 'ROUTINE_ERROR'], // SIGNAL
    [1062, '45000', 'ROUTINE_ERROR'], // SIGNAL … SET MYSQL_ERRNO = 1062: still a routine's
    [1919, 'HY000', 'INTERNAL_ERROR'], // not listed: fail closed
    [1037, 'HY001', 'INTERNAL_ERROR'], // out of memory
  ])('MySQL errno %i (%s) → %s, row-dependent', (errno, state, mapped) => {
    const e = mapMysqlError(my(errno, state));
    expect(e.code).toBe(mapped);
    expect(e.rowDependent).toBe(true);
  });

  it.each([
    [1064, '42000'], [1054, '42S22'], [1146, '42S02'], [1142, '42000'], [1062, '23000'], [1452, '23000'], [1048, '23000'],
    [4025, '23000'], [1213, '40001'], [1205, 'HY000'], [1969, '70100'], [1317, '70100'], [1792, '25006'], [2013, 'HY000'],
  ])('MySQL errno %i is row-independent', (errno, state) => {
    expect(mapMysqlError(my(errno, state)).rowDependent).toBe(false);
  });

  function sqliteStepError(setup: string, sql: string): unknown {
    const db = new Database(':memory:');
    try {
      db.exec(setup);
      const stmt = db.prepare(sql);
      try {
        stmt.run();
      } catch (e) {
        return duringStep(e);
      }
    } finally {
      db.close();
    }
    throw new Error(`expected SQLite to fail while stepping: ${sql}`);
  }

  it.each([
    ['select abs(-9223372036854775807 - 1)', 'INVALID_INPUT'],
    ["select json('{oops')", 'INVALID_INPUT'],
    ['select json_object(1)', 'INVALID_SQL'], // not in the message list: the phase decides
    ['select zeroblob(1000000000000)', 'INVALID_INPUT'],
  ])('SQLite %s while stepping → %s, row-dependent', (sql, mapped) => {
    const e = mapSqliteError(sqliteStepError('', sql));
    expect(e.code).toBe(mapped);
    expect(e.rowDependent).toBe(true);
  });

  it('SQLite: constraint errors while stepping, and anything thrown by prepare(), are row-independent', () => {
    expect(mapSqliteError(sqliteStepError('create table t (id integer primary key); insert into t values (1)', 'insert into t values (1)')).rowDependent).toBe(false);
    expect(mapSqliteError(sqliteError('select * from nowhere')).rowDependent).toBe(false);
    expect(mapSqliteError(duringStep(new SluiceError('RESULT_TOO_LARGE'))).rowDependent).toBe(false);
  });

  it('the flag crosses the SQLite process boundary out of band (never in the client body)', () => {
    const e = new SluiceError('INVALID_INPUT', undefined, { rowDependent: true });
    expect(e.toBody()).toEqual({ code: 'INVALID_INPUT', message: 'A value is invalid for its type' });
    expect(SluiceError.fromBody(e.toBody(), { rowDependent: true }).rowDependent).toBe(true);
    expect(SluiceError.fromBody(e.toBody()).rowDependent).toBe(false);
  });
});
