/**
 * sql.literals: the scanners per literal kind and dialect, the three modes, and the refusal through
 * each dialect's validator (kind and position named, never the value; the gateway's own filter and
 * preset values never count).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { checkReloadable } from '../../../src/config/reload.js';
import { parseConfig } from '../../../src/config/schema.js';
import { SluiceError } from '../../../src/errors.js';
import { createValidator, loadSqlParsers } from '../../../src/sql/create-validator.js';
import { LITERAL_MODES, refusedUnder, scanLiterals, type LiteralKind } from '../../../src/sql/literals/policy.js';
import { mayHoldQuotedConstant } from '../../../src/sql/literals/postgres-scanner.js';

beforeAll(async () => {
  await loadSqlParsers();
});

type Dialect = 'postgres' | 'mysql' | 'sqlite';

const kinds = (sql: string, dialect: Dialect): string[] => scanLiterals(sql, dialect).map((l) => `${l.kind}@${l.position}`);

/** Where `needle` starts in `sql`, 1-based. */
const at = (sql: string, needle: string): number => sql.indexOf(needle) + 1;

describe('scanning: each literal kind, per dialect, with its position', () => {
  const cases: [Dialect, string, string, LiteralKind][] = [
    ['postgres', "select * from t where a = 'x'", "'x'", 'string'],
    ['postgres', "select * from t where a = E'x\\'y'", "E'", 'string'],
    ['postgres', "select * from t where a = U&'d\\0061t'", "U&'", 'string'],
    ['postgres', 'select * from t where a = $$x$$', '$$', 'string'],
    ['postgres', 'select * from t where a = $tag$x$tag$', '$tag$', 'string'],
    ['postgres', "select * from t where a = B'101'", "B'", 'bit string'],
    ['postgres', "select * from t where a = X'1F'", "X'", 'hex string'],
    ['postgres', "select * from t where a = date '2024-01-01'", "'2024", 'date/time string'],
    ['postgres', "select * from t where a > now() - interval '1 day'", "'1 day'", 'date/time string'],
    ['postgres', 'select * from t where a = 42', '42', 'integer'],
    ['postgres', 'select * from t where a = 0x1F', '0x1F', 'integer'],
    ['postgres', 'select * from t where a = 1.5e3', '1.5e3', 'decimal'],
    ['mysql', "select * from t where a = 'x'", "'x'", 'string'],
    ['mysql', 'select * from t where a = "x"', '"x"', 'string'],
    ['mysql', "select * from t where a = N'x'", "N'", 'string'],
    ['mysql', "select * from t where a = _utf8mb4'x'", "'x'", 'string'],
    ['mysql', "select * from t where a = b'101'", "b'", 'bit string'],
    ['mysql', 'select * from t where a = 0b101', '0b101', 'bit string'],
    ['mysql', "select * from t where a = x'1F'", "x'", 'hex string'],
    ['mysql', 'select * from t where a = 0x1F', '0x1F', 'hex string'],
    ['mysql', "select * from t where a = DATE '2024-01-01'", "'2024", 'date/time string'],
    ['mysql', 'select * from t where a = 42', '42', 'integer'],
    ['mysql', 'select * from t where a = .5', '.5', 'decimal'],
    ['mysql', "select * from t where a = ? /*!50000 or a = 'x' */", "'x'", 'string'],
    ['mysql', "select * from t where a = ? /*M!100100 or a = 'x' */", "'x'", 'string'],
    ['mysql', "select * from t where a = ? --'x'", "'x'", 'string'],
    ['sqlite', "select * from t where a = 'x'", "'x'", 'string'],
    ['sqlite', "select * from t where a = 'it''s -- not a comment'", "'it", 'string'],
    ['mysql', "select * from t where a = 'it\\'s /* not a comment'", "'it", 'string'],
    ['postgres', "select * from t where a = 'it''s /* not a comment'", "'it", 'string'],
    ['sqlite', "select * from t where a = X'1F'", "X'", 'hex string'],
    ['sqlite', "select * from t where a = datetime('now')", "'now'", 'string'],
    ['sqlite', 'select * from t where a = 42', '42', 'integer'],
    ['sqlite', 'select * from t where a = 0x1F', '0x1F', 'integer'],
    ['sqlite', 'select * from t where a = 1.5E-3', '1.5E-3', 'decimal'],
  ];
  it.each(cases)('%s: %s', (dialect, sql, needle, kind) => {
    expect(kinds(sql, dialect)).toEqual([`${kind}@${at(sql, needle)}`]);
  });

  it('placeholders, booleans, NULL, DEFAULT, identifiers and comments carry no literal', () => {
    expect(kinds(`select "it's", t.a1 from t where a = $1 and b is null and c = true -- it's\n /* 'x' 1 */`, 'postgres')).toEqual([]);
    expect(kinds('insert into t (a, b) values ($1, default) returning "x\'"', 'postgres')).toEqual([]);
    expect(kinds("select `it's`, t1.a from t where a = ? and b = false # it's 2\n and c is null -- 'x'", 'mysql')).toEqual([]);
    expect(kinds("insert into t (a, b) values (?, default)", 'mysql')).toEqual([]);
    expect(kinds(`select "it's", [a'b], \`c\` from t where a = ? /* 'x' */ and b = true -- 'y'`, 'sqlite')).toEqual([]);
  });

  it('positions count characters (code points) of the SQL the client sent', () => {
    const sql = "select 'é😀' as \"ü\", 'x'";
    // 'x' starts at code point 21 ('😀' is one character, two UTF-16 units, four UTF-8 bytes).
    for (const dialect of ['postgres', 'mysql', 'sqlite'] as const) expect(kinds(sql.replaceAll('"', dialect === 'mysql' ? '`' : '"'), dialect)).toEqual(['string@8', 'string@21']);
  });

  it('the integers 0 and 1 are told apart from other integers', () => {
    for (const dialect of ['postgres', 'mysql', 'sqlite'] as const) {
      const found = scanLiterals('select 0, 1, 2, 10, 1.0 from t', dialect);
      expect(found.map((l) => l.zeroOrOne ?? null)).toEqual([true, true, false, false, null]);
    }
  });

  it('text that cannot be closed is refused (fail closed)', () => {
    const bad: [Dialect, string][] = [
      ['postgres', "select 'abc"],
      ['postgres', 'select $$abc'],
      ['postgres', 'select 1 /* abc'],
      ['mysql', "select 'abc"],
      ['mysql', 'select "abc'],
      ['mysql', 'select 1 /* abc'],
      ['mysql', 'select `abc'],
      ['sqlite', "select 'abc"],
      ['sqlite', 'select [abc'],
      ['sqlite', 'select "abc'],
    ];
    for (const [dialect, sql] of bad) {
      expect(() => scanLiterals(sql, dialect), `${dialect}: ${sql}`).toThrow(expect.objectContaining({ code: 'SQL_PARSE_ERROR' }));
    }
  });
});

describe('the three modes', () => {
  const verdicts = (sql: string, dialect: Dialect): Record<string, boolean> =>
    Object.fromEntries(LITERAL_MODES.map((m) => [m, scanLiterals(sql, dialect).some((l) => refusedUnder(m, l))]));
  it.each(['postgres', 'mysql', 'sqlite'] as const)('%s', (dialect) => {
    expect(verdicts("select * from t where a = 'x'", dialect)).toEqual({ allow: false, 'refuse-strings': true, refuse: true });
    expect(verdicts("select * from t where a = X'00'", dialect)).toEqual({ allow: false, 'refuse-strings': true, refuse: true });
    expect(verdicts('select * from t where a = 42', dialect)).toEqual({ allow: false, 'refuse-strings': false, refuse: true });
    expect(verdicts('select * from t where a = 2.5', dialect)).toEqual({ allow: false, 'refuse-strings': false, refuse: true });
    expect(verdicts('select * from t where a = 0 or b = 1 or c = true or d is null', dialect)).toEqual({ allow: false, 'refuse-strings': false, refuse: false });
  });
});

describe('through the validators', () => {
  const tables = { customers: { select: { columns: '*', filter: { tenant_id: '$claims.tenant_id', status: 'active' } }, insert: { columns: ['name'], set: { tenant_id: '$claims.tenant_id', kind: 'web' } } } };
  const config = parseConfig({
    auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
    connections: { pg: 'postgres://a@b/c', my: 'mysql://a@b/c', lite: './x.db', open: './y.db' },
    sql: { literals: { default: 'refuse-strings', connections: { open: 'allow' }, roles: { strict: 'refuse', admin: 'allow' } } },
    permissions: Object.fromEntries(['member', 'strict', 'admin'].map((role) => [role, { pg: tables, my: tables, lite: tables, open: tables }])),
  });

  const refusal = (connection: string, role: string, sql: string): SluiceError | undefined => {
    try {
      createValidator(config, connection).check({ sql, role });
      return undefined;
    } catch (e) {
      if (e instanceof SluiceError) return e;
      throw e;
    }
  };

  it.each(['pg', 'my', 'lite'])('%s: refused with the kind and position, never the value', (connection) => {
    const p = connection === 'pg' ? '$1' : '?';
    const sql = `select id from customers where name = ${p} or email = 'secret-value@example.com'`;
    const err = refusal(connection, 'member', sql);
    expect(err?.code).toBe('LITERAL_NOT_ALLOWED');
    expect(err?.status).toBe(400);
    expect(err?.message).toContain(`string literal at character ${at(sql, "'secret")}`);
    expect(err?.message).not.toContain('secret-value');
    // Parameters, numbers and the gateway's own filter/preset values pass under refuse-strings.
    expect(refusal(connection, 'member', `select id from customers where name = ${p} and id > 10 limit 5`)).toBeUndefined();
    expect(refusal(connection, 'member', `insert into customers (name) values (${p})`)).toBeUndefined();
  });

  it.each(['pg', 'my', 'lite'])('%s: a role\'s mode wins over the connection\'s and the default', (connection) => {
    const p = connection === 'pg' ? '$1' : '?';
    expect(refusal(connection, 'strict', `select id from customers where id = 0 or id = 1 or name = ${p}`)).toBeUndefined();
    expect(refusal(connection, 'strict', 'select id from customers where id = 2')?.message).toContain('an integer literal at character 37');
    expect(refusal(connection, 'strict', `select id from customers limit 10`)?.code).toBe('LITERAL_NOT_ALLOWED');
    expect(refusal(connection, 'admin', "select id from customers where name = 'x'")).toBeUndefined();
  });

  it('a connection\'s mode applies to roles without one', () => {
    expect(refusal('open', 'member', "select id from customers where name = 'x'")).toBeUndefined();
    expect(refusal('open', 'strict', "select id from customers where name = 'x'")?.code).toBe('LITERAL_NOT_ALLOWED');
  });

  it('an absent sql.literals keeps allow', () => {
    const plain = parseConfig({
      auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
      connections: { pg: 'postgres://a@b/c' },
      permissions: { member: { pg: tables } },
    });
    expect(plain.sql.literals).toBeUndefined();
    expect(createValidator(plain, 'pg').check({ sql: "select id from customers where name = 'x'", role: 'member' }).kind).toBe('select');
  });
});

describe('config', () => {
  const base = {
    auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
    connections: { pg: 'postgres://a@b/c' },
    permissions: { member: { pg: {} } },
  };
  it('a mode alone is the default for every connection and role, and the normalized form parses to itself', () => {
    const c = parseConfig({ ...base, sql: { literals: 'refuse-strings' } });
    expect(c.sql.literals).toEqual({ default: 'refuse-strings', connections: {}, roles: {} });
    expect(parseConfig(JSON.parse(JSON.stringify(c))).sql.literals).toEqual(c.sql.literals);
  });
  it('unknown modes, connections and roles are refused, naming the key', () => {
    expect(() => parseConfig({ ...base, sql: { literals: 'refuse-all' } })).toThrow(/sql\.literals.*must be one of allow, refuse-strings, refuse/);
    expect(() => parseConfig({ ...base, sql: { literals: { connections: { nope: 'refuse' } } } })).toThrow(/sql\.literals\.connections\.nope.*no connection/);
    expect(() => parseConfig({ ...base, sql: { literals: { roles: { nobody: 'refuse' } } } })).toThrow(/sql\.literals\.roles\.nobody.*no role/);
    expect(() => parseConfig({ ...base, sql: { literals: { roles: { member: 'yes' } } } })).toThrow(/sql\.literals\.roles\.member/);
  });
});

describe("Postgres: the empty JSON array of Drizzle's relational queries", () => {
  it("'[]'::json and '[]'::jsonb are not reported; any other string, or '[]' without the cast, is", () => {
    expect(kinds(`select coalesce(json_agg(x), '[]'::json), coalesce(jsonb_agg(x), '[]' :: jsonb) from t`, 'postgres')).toEqual([]);
    expect(kinds(`select coalesce(json_agg(x), '[1]'::json) from t`, 'postgres')).toEqual(['string@30']);
    expect(kinds(`select coalesce(json_agg(x), '[]'::text) from t`, 'postgres')).toEqual(['string@30']);
    expect(kinds(`select coalesce(json_agg(x), '[]') from t`, 'postgres')).toEqual(['string@30']);
  });
});

describe('Postgres: statements of placeholders skip the lexer under refuse-strings', () => {
  it('only when no form of quoted constant can be in the text', () => {
    expect(mayHoldQuotedConstant('insert into t (a) values ($1), ($2), ($10) returning "a$b"')).toBe(true); // "a$b": a $ not before a digit
    expect(mayHoldQuotedConstant('insert into t (a) values ($1), ($2), ($10)')).toBe(false);
    expect(mayHoldQuotedConstant('select 1.5, 42, true, null from t where a = $1')).toBe(false);
    for (const sql of ["select 'x'", "select E'x'", "select B'1'", "select X'1'", "select U&'x'", 'select $$x$$', 'select $q$x$q$']) {
      expect(mayHoldQuotedConstant(sql), sql).toBe(true);
      expect(scanLiterals(sql, 'postgres')).toHaveLength(1);
    }
  });
});

describe('reload', () => {
  it('sql.literals may change on a reload (it is under sql)', () => {
    const raw = {
      auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
      connections: { pg: 'postgres://a@b/c' },
      permissions: { member: { pg: { customers: { select: { columns: '*' } } } } },
    };
    const before = parseConfig(raw);
    const after = parseConfig({ ...raw, sql: { literals: 'refuse' } });
    expect(() => checkReloadable(before, after)).not.toThrow();
    expect(createValidator(before, 'pg').check({ sql: 'select id from customers limit 5', role: 'member' }).kind).toBe('select');
    expect(() => createValidator(after, 'pg').check({ sql: 'select id from customers limit 5', role: 'member' })).toThrow(expect.objectContaining({ code: 'LITERAL_NOT_ALLOWED' }));
  });
});
