/**
 * Value amplifiers, padding casts and the searches the databases cannot interrupt (issue 11,
 * findings 8 and 9), on all three dialects: what is refused, with which code, what stays allowed,
 * and the bind-time check of parameters used as patterns.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../../src/errors.js';
import { bindParams } from '../../../src/sql/bind-params.js';
import { createValidator, loadSqlParsers } from '../../../src/sql/create-validator.js';
import type { CheckedStatement } from '../../../src/sql/validator.js';
import { dialectConfig } from '../../fixtures/drizzle-dialect-config.js';
import { validatorConfig } from './fixture-config.js';

beforeAll(async () => {
  await loadSqlParsers();
});

type Dialect = 'postgres' | 'mysql' | 'sqlite';

function validator(dialect: Dialect) {
  if (dialect === 'postgres') return createValidator(validatorConfig(), 'main');
  return createValidator(dialectConfig(dialect, dialect === 'mysql' ? 'app' : 'main'), 'main');
}

function outcome(dialect: Dialect, sql: string): string {
  try {
    validator(dialect).check({ sql, role: 'member' });
    return 'accepted';
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return (e as SluiceError).code;
  }
}

/** Six replace() levels, each four times longer: 4^6 = 4096 times the input. */
const nestedReplace = (inner: string): string => {
  let e = inner;
  for (let i = 0; i < 6; i++) e = `replace(${e}, 'a', 'aaaa')`;
  return e;
};

/** A CTE chain where each level concatenates the previous one with itself: 2^n. */
function doublingCtes(levels: number, concat: (s: string) => string): string {
  const ctes = [`c0 as (select 'ab' as s)`];
  for (let i = 1; i <= levels; i++) ctes.push(`c${i} as (select ${concat('s')} as s from c${i - 1})`);
  return `with ${ctes.join(', ')} select s from c${levels}`;
}

describe('postgres: the findings', () => {
  it.each([
    ["select format('%100000000s','')", 'VALUE_GROWTH_EXCEEDED'],
    ["select format('%*s', 100000000, '')", 'FUNCTION_NOT_ALLOWED'],
    ['select format($1, 1)', 'FUNCTION_NOT_ALLOWED'],
    ["select ''::char(10485760)", 'VALUE_GROWTH_EXCEEDED'],
    ["select cast('' as character(10485760))", 'VALUE_GROWTH_EXCEEDED'],
    ["select B'1'::bit(83886080)", 'VALUE_GROWTH_EXCEEDED'],
    ["select array_fill('x'::text, array[10000000])", 'FUNCTION_NOT_ALLOWED'],
    ["select repeat('x', 100000000)", 'FUNCTION_NOT_ALLOWED'],
    ["select lpad('', 100000000)", 'FUNCTION_NOT_ALLOWED'],
    ["select jsonb_pretty($1::jsonb)", 'FUNCTION_NOT_ALLOWED'],
    ["select jsonb_path_query_array($1::jsonb, '$.**')", 'FUNCTION_NOT_ALLOWED'],
    [`select ${nestedReplace('name')} from customers`, 'VALUE_GROWTH_EXCEEDED'],
    [`select ${nestedReplace("'a'")}`, 'VALUE_GROWTH_EXCEEDED'],
    [doublingCtes(11, (s) => `${s} || ${s}`), 'VALUE_GROWTH_EXCEEDED'],
    ['with recursive r(s, n) as (select $1::text, 1 union all select s || s, n + 1 from r where n < 30) select length(s) from r', 'VALUE_GROWTH_EXCEEDED'],
    ["select encode(encode(encode(encode(encode(name::bytea, 'escape')::bytea, 'escape')::bytea, 'escape')::bytea, 'escape')::bytea, 'escape') from customers", 'VALUE_GROWTH_EXCEEDED'],
    // Searches Postgres does not interrupt: the search string must be short.
    ['select strpos(name, email) from customers', 'ARGUMENT_TOO_LONG'],
    ['select position(email in name) from customers', 'ARGUMENT_TOO_LONG'],
    ['select translate(name, email, name) from customers', 'ARGUMENT_TOO_LONG'],
    ['select btrim(name, email) from customers', 'ARGUMENT_TOO_LONG'],
    ['select split_part(name, email, 1) from customers', 'ARGUMENT_TOO_LONG'],
    ["select replace(name, 'a', email) from customers", 'ARGUMENT_TOO_LONG'],
    ['select name from customers where name like email', 'ARGUMENT_TOO_LONG'],
    ['select name from customers where name not ilike email', 'ARGUMENT_TOO_LONG'],
    ['select name from customers where name ~~ email', 'ARGUMENT_TOO_LONG'],
    ['select name from customers where name similar to email', 'ARGUMENT_TOO_LONG'],
    ['select name from customers where name like any ($1)', 'ARGUMENT_TOO_LONG'],
    [`select name from customers where name like '${'x'.repeat(101)}'`, 'ARGUMENT_TOO_LONG'],
    ["select string_to_array(name, email) from customers", 'ARGUMENT_TOO_LONG'],
    ["select array_to_string(array[name], email) from customers", 'ARGUMENT_TOO_LONG'],
    ["select ts_headline(name, to_tsquery('a'), email) from customers", 'ARGUMENT_TOO_LONG'],
    ['select strpos(a => name, b => email) from customers', 'CONSTRUCT_NOT_ALLOWED'],
    // Element-by-element containment and overlap (array @> 25 s, jsonb @> 133 s for 50 000 elements each).
    ['select id from customers where array[name] && array[email]', 'ARGUMENT_TOO_LONG'],
    ['select id from customers where to_jsonb(name) @> to_jsonb(email)', 'ARGUMENT_TOO_LONG'],
    ['select id from customers where array[email] <@ array[name]', 'ARGUMENT_TOO_LONG'],
    ['select id from customers where to_jsonb(name) ?| string_to_array(email, \',\')', 'ARGUMENT_TOO_LONG'],
    ['select id from customers where to_jsonb(name) ?& array(select email from customers)', 'ARGUMENT_TOO_LONG'],
    ['select to_jsonb(name) - array(select email from customers) from customers', 'ARGUMENT_TOO_LONG'],
  ])('%s → %s', (sql, code) => {
    expect(outcome('postgres', sql)).toBe(code);
  });
});

describe('postgres: what stays allowed', () => {
  it.each([
    "select ''::char(36), name::varchar(10485760), 1::numeric(1000, 10), B'1'::bit(64) from customers",
    "select format('%s: %-20s %I %L %%', id, name, email, name) from customers",
    "select replace(replace(name, 'a', 'aaaa'), 'b', 'bbbb') from customers",
    'select replace(name, $1, $2), strpos(name, $3), translate(name, $4, $5) from customers',
    "select name from customers where name like $1 or name ilike '%' || $2 || '%' or name like any (array['a%', $3])",
    "select name from customers where name similar to 'T1%' and name ~ '^T' and email !~* $1",
    "select concat_ws(', ', id, name, email), array_to_string(array[name, email], '; '), string_to_array(name, ' ') from customers",
    "select regexp_replace(name, 'a+', 'b', 'g'), regexp_matches(name, '(T)(\\d)') from customers",
    "select ts_headline('english', name, to_tsquery($1)), ts_headline(name, plainto_tsquery($1), 'StartSel=<b>, StopSel=</b>') from customers",
    doublingCtes(9, (s) => `${s} || ${s}`),
    "with recursive r(path, n) as (select name, id from customers union all select r.path || '/' || c.name, c.id from r join customers c on c.id = r.n + 1) select path from r",
    // A bare column resolves where the database resolves it: `name` is the table's, not the CTE row's.
    "with recursive r(id, path) as (select id, name from customers where id = 1 union all select c.id, r.path || '/' || name from r join customers c on c.id = r.id + 1) select path from r",
    'with recursive r(n) as (select 1 union all select n + 1 from r where n < 10) select n from r',
    "select json_build_object('id', id, 'name', name, 'nested', json_build_array(id, name, json_build_object('e', email))) from customers",
    "select string_agg(name, ', '), json_agg(customers), array_agg(email) from customers",
    'select count(*)::int as n, sum(id)::text as s from customers',
    "select id from customers where array[name] @> $1 and $2 <@ array[email] and to_jsonb(name) ?| array['a', $3] and $4::tstzrange @> now()",
    "select to_jsonb(name) - 'k', to_jsonb(name) - $1::text[], id - id, now() - interval '1 day' from customers",
  ])('%s', (sql) => {
    expect(outcome('postgres', sql)).toBe('accepted');
  });

  it('many values side by side are not one value: an IN list, literals of one text, a sum', () => {
    expect(outcome('postgres', `select id from customers where id in (${Array.from({ length: 900 }, (_, i) => `$${i + 1}`).join(', ')})`)).toBe('accepted');
    const literals = Array.from({ length: 3000 }, (_, i) => `'${i}'`).join(', ');
    expect(outcome('postgres', `select concat(${literals}), ${Array.from({ length: 150 }, () => 'id').join(' + ')} from customers`)).toBe('accepted');
  });
});

describe.each(['mysql', 'sqlite'] as const)('%s: amplifiers and searches', (dialect) => {
  it.each([
    [`select ${nestedReplace('name')} from customers`, dialect === 'mysql' ? 'FUNCTION_NOT_ALLOWED' : 'VALUE_GROWTH_EXCEEDED'],
    [doublingCtes(11, (s) => `concat(${s}, ${s})`), 'VALUE_GROWTH_EXCEEDED'],
    ['with recursive r(s, n) as (select ?, 1 union all select concat(s, s), n + 1 from r where n < 30) select length(s) from r', 'VALUE_GROWTH_EXCEEDED'],
    ['select hex(hex(hex(hex(hex(hex(hex(hex(hex(hex(hex(name))))))))))) from customers', 'VALUE_GROWTH_EXCEEDED'],
    ['select name from customers where name like email', 'ARGUMENT_TOO_LONG'],
    ['select instr(name, email) from customers', 'ARGUMENT_TOO_LONG'],
    ["select repeat('x', 100000000)", 'FUNCTION_NOT_ALLOWED'],
  ])('%s → %s', (sql, code) => {
    expect(outcome(dialect, sql)).toBe(code);
  });

  it('keeps what Drizzle and ordinary queries send', () => {
    for (const sql of [
      'select name from customers where name like ? or email like concat(?, ?)',
      "select concat_ws(', ', id, name, email), upper(name), instr(name, ?) from customers",
      "select replace(name, ',', ';') from customers",
      doublingCtes(9, (s) => `concat(${s}, ${s})`),
      'with recursive r(n) as (select 1 union all select n + 1 from r where n < 10) select n from r',
      "with recursive r(id, path) as (select id, name from customers where id = 1 union all select c.id, concat(r.path, '/', name) from r join customers c on c.id = r.id + 1) select path from r",
      `select id from customers where id in (${Array.from({ length: 900 }, () => '?').join(', ')})`,
      `select concat(${Array.from({ length: 3000 }, (_, i) => `'${i}'`).join(', ')}), ${Array.from({ length: 150 }, () => 'id').join(' + ')} from customers`,
    ]) {
      expect(outcome(dialect, sql), sql.slice(0, 200)).toBe('accepted');
    }
  });
});

describe('mysql: what MariaDB cannot stop', () => {
  it.each([
    ["select replace(name, 'a', 'bb') from customers", 'FUNCTION_NOT_ALLOWED'],
    ["select replace(name, 'ab', 'c') from customers", 'FUNCTION_NOT_ALLOWED'],
    ['select replace(name, ?, ?) from customers', 'FUNCTION_NOT_ALLOWED'],
    ["select regexp_replace(name, 'a', 'b') from customers", 'FUNCTION_NOT_ALLOWED'],
    ["select regexp_substr(name, '(a|aa)+$') from customers", 'FUNCTION_NOT_ALLOWED'],
    ['select locate(email, name) from customers', 'ARGUMENT_TOO_LONG'],
    ['select substring_index(name, email, 1) from customers', 'ARGUMENT_TOO_LONG'],
    ["select json_search(email, 'all', 'a') from customers", 'FUNCTION_NOT_ALLOWED'],
    ['select space(100000000)', 'FUNCTION_NOT_ALLOWED'],
    ['select cast(name as binary(60000)) from customers', 'VALUE_GROWTH_EXCEEDED'],
  ])('%s → %s', (sql, code) => {
    expect(outcome('mysql', sql)).toBe(code);
  });

  it('allows CHAR(n) casts (they truncate, never pad) and short BINARY(n)', () => {
    expect(outcome('mysql', 'select cast(name as char(60000)), cast(name as binary(16)) from customers')).toBe('accepted');
  });
});

describe('sqlite: sized functions', () => {
  it.each(['select zeroblob(1000000000)', 'select randomblob(1000000000)', "select printf('%.*c', 1000000000, 'x')"])('%s', (sql) => {
    expect(outcome('sqlite', sql)).toBe('FUNCTION_NOT_ALLOWED');
  });
  it('trim sets and glob/like patterns must be short', () => {
    expect(outcome('sqlite', 'select trim(name, email) from customers')).toBe('ARGUMENT_TOO_LONG');
    expect(outcome('sqlite', 'select glob(email, name) from customers')).toBe('ARGUMENT_TOO_LONG');
    expect(outcome('sqlite', "select trim(name, ' x'), glob('T1*', name) from customers")).toBe('accepted');
  });
});

describe('parameters used as patterns are measured when bound', () => {
  const claims = { tenant_id: 1 };
  const bind = (checked: CheckedStatement, params: unknown[]): string => {
    try {
      bindParams(checked, params, claims);
      return 'bound';
    } catch (e) {
      return (e as SluiceError).code;
    }
  };

  it.each([
    ['postgres', "select name from customers where name like '%' || $1 || '%' and strpos(name, $2) > 0"],
    ['mysql', "select name from customers where name like concat('%', ?, '%') and instr(name, ?) > 0"],
    ['sqlite', "select name from customers where name like '%' || ? || '%' and instr(name, ?) > 0".replace("'%' || ? || '%'", "concat('%', ?, '%')")],
  ] as const)('%s', (dialect, sql) => {
    const checked = validator(dialect).check({ sql, role: 'member' });
    expect(checked.boundedParams).toEqual([
      { params: [0], fixed: 2, max: 100 },
      { params: [1], fixed: 0, max: 100 },
    ]);
    expect(bind(checked, ['x'.repeat(98), 'y'.repeat(100)])).toBe('bound');
    expect(bind(checked, ['x'.repeat(99), 'y'])).toBe('ARGUMENT_TOO_LONG');
    expect(bind(checked, ['x', 'y'.repeat(101)])).toBe('ARGUMENT_TOO_LONG');
    expect(bind(checked, [null, 12345])).toBe('bound');
    expect(bind(checked, ['x', Buffer.alloc(101)])).toBe('ARGUMENT_TOO_LONG');
  });

  it('a statement without patterns binds anything', () => {
    const checked = validator('postgres').check({ sql: 'select name from customers where name = $1', role: 'member' });
    expect(checked.boundedParams).toBeUndefined();
    expect(bind(checked, ['x'.repeat(100_000)])).toBe('bound');
  });
});
