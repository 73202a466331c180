/**
 * Validation cost is bounded (issue 11, finding 13): the token scan before parsing, parsed node
 * and set-operation counts after, FROM items while walking — on all three dialects, with the
 * defaults never refusing what Drizzle sends (its largest insert at limits.maxParams).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/schema.js';
import type { SluiceConfig } from '../../../src/config/types.js';
import { SluiceError } from '../../../src/errors.js';
import { measureSql } from '../../../src/sql/common/statement-size.js';
import { createValidator, loadSqlParsers } from '../../../src/sql/create-validator.js';
import { dialectConfig } from '../../fixtures/drizzle-dialect-config.js';
import { validatorConfig } from './fixture-config.js';

beforeAll(async () => {
  await loadSqlParsers();
});

/** The limits a deployment gets without configuring any. */
const DEFAULTS: SluiceConfig['limits'] = parseConfig({
  auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } },
  connections: { main: 'postgres://a@127.0.0.1/db' },
}).limits;

type Dialect = 'postgres' | 'mysql' | 'sqlite';

function validator(dialect: Dialect, limits: Partial<SluiceConfig['limits']> = {}) {
  if (dialect === 'postgres') return createValidator(validatorConfig(limits), 'main');
  return createValidator(dialectConfig(dialect, dialect === 'mysql' ? 'app' : 'main', limits), 'main');
}

function outcome(dialect: Dialect, sql: string, limits: Partial<SluiceConfig['limits']> = {}): string {
  try {
    validator(dialect, limits).check({ sql, role: 'member' });
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return `${(e as SluiceError).code}${(e as SluiceError).code === 'SQL_TOO_COMPLEX' ? `: ${(e as SluiceError).message}` : ''}`;
  }
}

const PG = { postgres: true, hashComments: false, bracketIdentifiers: false };
const MY = { postgres: false, hashComments: true, bracketIdentifiers: false };
const LITE = { postgres: false, hashComments: false, bracketIdentifiers: true };

describe('measureSql', () => {
  it('counts words, numbers, quoted texts and punctuation, not blanks or comments', () => {
    expect(measureSql('select id, name from t where id = 10', PG)).toEqual({ tokens: 10, setOperations: 0, joins: 0 });
    expect(measureSql("select 'a b c union join' -- union join\n /* union */ , \"x y\"", PG).tokens).toBe(4);
    expect(measureSql('select 1 union all select 2 INTERSECT select 3 except select 4', PG)).toMatchObject({ setOperations: 3 });
    expect(measureSql('select * from a join b on true left JOIN c using (x) join_table', PG)).toMatchObject({ joins: 2 });
  });

  it('reads each dialect\'s quoting: Postgres dollar quotes, E-strings and nested comments', () => {
    expect(measureSql("select $$ union union $$, $tag$ it's $$ union $tag$, E'\\' union ', x$y", PG)).toEqual({ tokens: 8, setOperations: 0, joins: 0 });
    expect(measureSql('select /* a /* nested */ union */ 1', PG)).toEqual({ tokens: 2, setOperations: 0, joins: 0 });
    expect(measureSql('select 1 # union\n, `union` union select [x]', MY)).toEqual({ tokens: 9, setOperations: 1, joins: 0 });
    expect(measureSql('select [a union b], "c union" union select 1', LITE)).toEqual({ tokens: 7, setOperations: 1, joins: 0 });
  });

  it('is linear: a megabyte of tokens is one pass', () => {
    const sql = 'select 1' + ' union all select 1'.repeat(50_000);
    expect(measureSql(sql, PG)).toEqual({ tokens: 200_002, setOperations: 50_000, joins: 0 });
  });
});

/** Drizzle's largest insert under the default maxParams: one parameter per row. */
function largestInsert(dialect: Dialect): string {
  const q = dialect === 'mysql' ? '`' : '"';
  const rows = Array.from({ length: DEFAULTS.maxParams }, (_, i) => (dialect === 'postgres' ? `($${i + 1})` : '(?)'));
  return `insert into ${q}customers${q} (${q}name${q}) values ${rows.join(', ')}`;
}

describe.each(['postgres', 'mysql', 'sqlite'] as const)('%s: validation limits', (dialect) => {
  const joined = (n: number): string => ['customers c0', ...Array.from({ length: n - 1 }, (_, i) => `join customers c${i + 1} on true`)].join(' ');
  const commas = (n: number): string => Array.from({ length: n }, (_, i) => `customers c${i}`).join(', ');

  it('refuses the finding — 5 000 `union all select 1` (95 KB) — before parsing it', () => {
    const sql = 'select 1' + ' union all select 1'.repeat(5000);
    expect(outcome(dialect, sql, DEFAULTS)).toMatch(/^SQL_TOO_COMPLEX: .*5000 UNION/);
  });

  it('counts set operations, tokens, nodes and table references against their limits', () => {
    const unions = (n: number): string => 'select id from customers' + ' union all select id from customers'.repeat(n);
    expect(outcome(dialect, unions(4), { maxSetOperations: 4 })).toBe('accepted');
    expect(outcome(dialect, unions(5), { maxSetOperations: 4 })).toMatch(/^SQL_TOO_COMPLEX: .*maxSetOperations/);
    expect(outcome(dialect, 'select id, name from customers where id = 1', { maxSqlTokens: 10 })).toBe('accepted');
    expect(outcome(dialect, 'select id, name from customers where id = 10 + 1', { maxSqlTokens: 10 })).toMatch(/^SQL_TOO_COMPLEX: .*maxSqlTokens/);
    expect(outcome(dialect, 'select id from customers where id in (1, 2, 3, 4, 5, 6, 7, 8)', { maxSqlNodes: 12 })).toMatch(/^SQL_TOO_COMPLEX: .*maxSqlNodes/);
    expect(outcome(dialect, `select c0.id from ${joined(4)}`, { maxTableReferences: 4 })).toBe('accepted');
    // JOINs are counted before parsing, every FROM item while walking.
    expect(outcome(dialect, `select c0.id from ${joined(6)}`, { maxTableReferences: 4 })).toMatch(/^SQL_TOO_COMPLEX: .*5 JOINs/);
    expect(outcome(dialect, `select c0.id from ${joined(5)}`, { maxTableReferences: 4 })).toMatch(/^SQL_TOO_COMPLEX: .*maxTableReferences/);
    expect(outcome(dialect, `select c0.id from ${commas(5)}`, { maxTableReferences: 4 })).toMatch(/^SQL_TOO_COMPLEX: .*maxTableReferences/);
    // Tables in CTE bodies and derived tables count, and so does every reference to a CTE.
    const ctes = 'with w as (select id from customers) select w.id from w, (select id from customers) d, orders o';
    expect(outcome(dialect, ctes, { maxTableReferences: 5 })).toBe('accepted');
    expect(outcome(dialect, ctes.replace('from w,', 'from w, w w2,'), { maxTableReferences: 5 })).toMatch(/^SQL_TOO_COMPLEX: .*maxTableReferences/);
  });

  it('the defaults accept Drizzle\'s largest insert (limits.maxParams rows)', () => {
    const sql = largestInsert(dialect);
    expect(sql.length).toBeLessThanOrEqual(DEFAULTS.maxSqlLength);
    expect(outcome(dialect, sql, DEFAULTS)).toBe('accepted');
  }, 120_000);
});
