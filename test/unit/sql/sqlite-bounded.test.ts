/**
 * Which reads run on the worker thread (sqlite-bounded.ts): the rewritten statements as the
 * validator produces them, compiled by SQLite itself, classified from their real VDBE programs.
 * Everything that can loop — scans, sorts, aggregates, recursive CTEs, IN lists, SQL functions,
 * concatenation — must stay in the killable process.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isStraightLine, type ExplainRow } from '../../../src/drivers/sqlite/sqlite-bounded.js';
import { createValidator } from '../../../src/sql/create-validator.js';
import { dialectConfig, fixtureSql } from '../../fixtures/drizzle-dialect-config.js';

const validator = createValidator(dialectConfig('sqlite'), 'main');
const db = new Database(':memory:');
for (const s of fixtureSql('sqlite')) db.exec(s);

function program(sql: string): ExplainRow[] {
  const params = (sql.match(/\?/g) ?? []).map(() => 1);
  return db.prepare(`EXPLAIN ${sql}`).all(...params) as ExplainRow[];
}

/** The client's SQL as the validator rewrites it (tenant filter, permitted columns, row cap), then classified. */
const bounded = (sql: string): boolean => isStraightLine(program(validator.check({ sql, role: 'member' }).sql));

describe('sqlite: straight-line reads (run on the worker thread)', () => {
  it('a primary-key or unique-key lookup is straight-line, also joined to another key lookup', () => {
    expect(bounded('select id, name, email from customers where customers.id = ?')).toBe(true);
    expect(bounded('select * from customers c where c.id = ?')).toBe(true);
    expect(bounded('select id, name from customers where email = ?')).toBe(true);
    expect(bounded('select o.id, c.name from orders o join customers c on c.id = o.customer_id where o.id = ?')).toBe(true);
    expect(bounded('select id from customers where id = ? and name = ?')).toBe(true);
    // SQLite drops the DISTINCT of a one-row lookup.
    expect(bounded('select distinct name from customers where id = ?')).toBe(true);
  });

  it('anything that can visit more than one row per cursor, or do unbounded work in one step, is not', () => {
    const loops = [
      'select id from customers',
      'select id from customers where name = ?',
      'select id from customers order by name',
      'select count(*) as n from customers',
      'select id from customers where id in (1, 2, 3)',
      'select id from customers where id = ? union select id from customers where id = ?',
      'with recursive r(n) as (select 1 union all select n + 1 from r where n < 100000000) select count(*) as n from r',
      'select (select count(*) from orders) as n from customers where id = ?',
      'select max(id) as m from customers',
      'select id from customers where id > ?',
    ];
    for (const sql of loops) expect(bounded(sql), sql).toBe(false);
  });

  it('SQL functions and concatenation send even a key lookup to the process', () => {
    const amplifiers = [
      "select name like ? as x from customers where id = ?",
      'select length(name) as n from customers where id = ?',
      'select substr(name, 2, 3) as x from customers where id = ?',
      'select upper(name) as x from customers where id = ?',
      "select json_extract(name, '$.a') as x from customers where id = ?",
    ];
    for (const sql of amplifiers) expect(bounded(sql), sql).toBe(false);
    // The validator refuses `||`; the classifier does not rely on that.
    expect(isStraightLine(program('select name || name as x from customers where id = ?'))).toBe(false);
    expect(isStraightLine(program('select zeroblob(1000000000) as x from customers where id = ?'))).toBe(false);
  });

  it('programs it does not recognise fail closed', () => {
    const op = (opcode: string, p2 = 0): ExplainRow => ({ opcode, p1: 0, p2, p3: 0, p5: 0 });
    const ok = [op('Init', 3), op('ResultRow'), op('Halt'), op('Transaction'), op('Goto', 1)];
    expect(isStraightLine(ok)).toBe(true);
    // A backward jump in the body: a loop.
    expect(isStraightLine([op('Init', 4), op('ResultRow'), op('Goto', 1), op('Halt'), op('Transaction'), op('Goto', 1)])).toBe(false);
    // The body jumps into the prologue (which jumps back to the start: a loop).
    expect(isStraightLine([op('Init', 3), op('Goto', 3), op('Halt'), op('Transaction'), op('Goto', 1)])).toBe(false);
    // The body falls through into the prologue instead of halting.
    expect(isStraightLine([op('Init', 2), op('ResultRow'), op('Transaction'), op('Goto', 1)])).toBe(false);
    // An opcode not on the list.
    expect(isStraightLine([op('Init', 3), op('Function'), op('Halt'), op('Transaction'), op('Goto', 1)])).toBe(false);
    expect(isStraightLine([op('Init', 3), op('Next', 5), op('Halt'), op('Transaction'), op('Goto', 1)])).toBe(false);
    // No trampoline, no Init, a second Init, an empty program.
    expect(isStraightLine([op('Init', 3), op('ResultRow'), op('Halt'), op('Transaction'), op('Halt')])).toBe(false);
    expect(isStraightLine([op('Goto', 3), op('ResultRow'), op('Halt'), op('Transaction'), op('Goto', 1)])).toBe(false);
    expect(isStraightLine([op('Init', 3), op('Init', 4), op('Halt'), op('Transaction'), op('Goto', 1)])).toBe(false);
    expect(isStraightLine([])).toBe(false);
  });
});
