import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SluiceError } from '../../../src/errors.js';
import { bindParams } from '../../../src/sql/bind-params.js';
import { createValidator } from '../../../src/sql/create-validator.js';
import type { CheckedStatement } from '../../../src/sql/validator.js';
import { questionMarkPresetSuite } from './preset-with-check.js';
import { requireService } from '../../helpers/services.js';
import { dialectConfig, fixtureSql, loadDialectAttacks, rowLeaks, TENANT1, UNTOUCHABLE_SQL } from '../../fixtures/drizzle-dialect-config.js';
import { drizzleMysqlCorpus } from '../../fixtures/drizzle-mysql-corpus.js';

const SCHEMA = `sluice_v_${randomBytes(5).toString('hex')}`;
const validator = createValidator(dialectConfig('mysql', SCHEMA), 'main');
const check = (sql: string, role = 'member'): CheckedStatement => validator.check({ sql, role });

/** Refused when checked, or (a preset value that is not the caller's) when bound as tenant 1. */
function refusal(sql: string, role = 'member', params: unknown[] = []): string {
  try {
    bindParams(check(sql, role), params, TENANT1);
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return (e as SluiceError).code;
  }
  throw new Error(`expected a refusal for: ${sql}`);
}

async function mariadbAvailable(): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', connectTimeout: 2000 });
    await c.end();
    return true;
  } catch {
    return false;
  }
}
const dbUp = requireService('MariaDB', await mariadbAvailable());
let conn: mysql.Connection;

beforeAll(async () => {
  if (!dbUp) return;
  conn = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await conn.query(`CREATE DATABASE ${SCHEMA}`);
  await conn.query(`USE ${SCHEMA}`);
  for (const s of fixtureSql('mysql')) await conn.query(s);
});

afterAll(async () => {
  if (!dbUp) return;
  await conn.query(`DROP DATABASE IF EXISTS ${SCHEMA}`);
  await conn.end();
});

/** Run as tenant 1 inside a transaction that is rolled back; rows as objects. */
async function run(checked: CheckedStatement, params: unknown[] = []): Promise<{ rows: Record<string, unknown>[]; untouched: boolean }> {
  const snapshot = async (): Promise<string> => JSON.stringify(await Promise.all(UNTOUCHABLE_SQL.map(async (s) => (await conn.query(s))[0])));
  const before = await snapshot();
  await conn.query('START TRANSACTION');
  try {
    const [result] = await conn.query(checked.sql, bindParams(checked, params, TENANT1));
    const rows = Array.isArray(result) ? (result as Record<string, unknown>[]) : [];
    return { rows, untouched: (await snapshot()) === before };
  } finally {
    await conn.query('ROLLBACK');
  }
}

describe('mysql validator: rewrites', () => {
  it('turns each table into a filtered view of its permitted columns, quoted with backticks', () => {
    const c = check('select * from `customers` `c` where `c`.`id` = ?');
    expect(c.sql).toBe(
      `SELECT * FROM (SELECT \`sluice_t\`.\`id\`, \`sluice_t\`.\`tenant_id\`, \`sluice_t\`.\`name\`, \`sluice_t\`.\`email\` FROM \`${SCHEMA}\`.\`customers\` AS \`sluice_t\` WHERE (\`sluice_t\`.\`tenant_id\` = ?)) AS \`c\` WHERE (\`c\`.\`id\` = ?) LIMIT 101`,
    );
    expect(bindParams(c, [5], TENANT1)).toEqual([1, 5]);
    expect(c.readOnly).toBe(true);
    expect(check('select id from customers for update').readOnly).toBe(false);
  });

  it('orders positional params as they appear in the rewritten SQL', () => {
    const c = check('select id from customers where id = ? and name = ? limit ?');
    expect(c.clientParamCount).toBe(3);
    expect(c.paramOrder).toEqual([
      { kind: 'gateway', index: 0 },
      { kind: 'client', index: 0 },
      { kind: 'client', index: 1 },
      { kind: 'client', index: 2, max: 101 },
    ]);
    expect(bindParams(c, [1, 'x', 5000], TENANT1)).toEqual([1, 1, 'x', 101]);
    expect(() => bindParams(c, [1, 'x'], TENANT1)).toThrowError(expect.objectContaining({ code: 'PARAM_COUNT_MISMATCH' }));
    expect(() => bindParams(c, [1, 'x', 5], {})).toThrowError(expect.objectContaining({ code: 'CLAIM_MISSING' }));
  });

  it('keeps DEFAULT, writes presets, drops columns the role may not write', () => {
    const c = check('insert into `orders` (`id`, `tenant_id`, `customer_id`, `total`, `status`) values (default, default, ?, ?, default)');
    expect(c.sql).toBe(`INSERT INTO \`${SCHEMA}\`.\`orders\` (\`tenant_id\`, \`customer_id\`, \`total\`, \`status\`) VALUES (?, ?, ?, DEFAULT)`);
    expect(bindParams(c, [1, '9.50'], TENANT1)).toEqual([1, 1, '9.50']);
    expect(refusal('insert into orders (id, customer_id, total) values (7, 1, 1)')).toBe('COLUMN_NOT_ALLOWED');
  });

  it('guards ON DUPLICATE KEY UPDATE with the row filter', () => {
    const c = check('insert into customers (id, name) values (?, ?) on duplicate key update name = values(name)');
    expect(c.sql).toContain(`ON DUPLICATE KEY UPDATE \`name\` = if((\`customers\`.\`tenant_id\` = ?), values(\`name\`), \`customers\`.\`name\`)`);
    expect(refusal('insert into customers (id, name) values (1, 2) on duplicate key update name = values(secret_note)')).toBe('COLUMN_NOT_ALLOWED');
    expect(refusal('select values(name) from customers')).toBe('FUNCTION_NOT_ALLOWED');
  });

  it('accepts values(target.col) in ON DUPLICATE KEY UPDATE, as Drizzle writes it (the inserted row only)', () => {
    const c = check('insert into customers (id, name) values (?, ?) on duplicate key update name = values(`customers`.`name`)');
    expect(c.sql).toContain('values(`customers`.`name`)');
    expect(refusal('insert into customers (id, name) values (1, 2) on duplicate key update name = values(customers.secret_note)')).toBe('COLUMN_NOT_ALLOWED');
    expect(refusal('insert into customers (id, name) values (1, 2) on duplicate key update name = values(orders.name)')).toBe('FUNCTION_NOT_ALLOWED');
    expect(refusal('insert into customers (id, name) values (1, 2) on duplicate key update name = values(*)')).toMatch(/FUNCTION_NOT_ALLOWED|SQL_PARSE_ERROR|CONSTRUCT_NOT_ALLOWED/);
  });

  it('rewrites INSERT … SELECT like a read and appends the presets around it', async () => {
    const c = check("insert into orders (customer_id, total, `status`) select id, 1, 'copy' from customers where tenant_id = 2 or 1 = 1");
    expect(c.sql).toContain(`INSERT INTO \`${SCHEMA}\`.\`orders\` (\`customer_id\`, \`total\`, \`status\`, \`tenant_id\`) SELECT \`sluice_s\`.*, ? FROM (SELECT \`id\` AS \`sluice_s_1\``);
    if (!dbUp) return;
    await conn.query('START TRANSACTION');
    try {
      await conn.query(c.sql, bindParams(c, [], TENANT1));
      const [rows] = await conn.query("SELECT tenant_id, customer_id FROM orders WHERE status = 'copy' ORDER BY customer_id");
      expect(rows).toEqual([
        { tenant_id: 1, customer_id: 1 },
        { tenant_id: 1, customer_id: 3 },
        { tenant_id: 1, customer_id: 5 },
      ]);
    } finally {
      await conn.query('ROLLBACK');
    }
  });

  it('binds a claim array as JSON for `in` filters', () => {
    const c = check('select * from teams');
    expect(c.sql).toContain('json_contains(?, json_array(`sluice_t`.`id`))');
    expect(bindParams(c, [], TENANT1)).toEqual(['[1,3]']);
  });
});

describe('mysql validator: attack corpus', () => {
  const corpus = loadDialectAttacks('mysql', SCHEMA);

  it('has entries for every blocked category', () => {
    const categories = new Set(corpus.map((e) => e.category));
    for (const c of ['multi-statement', 'statement', 'catalog', 'function', 'variable', 'cross-tenant', 'write']) expect(categories).toContain(c);
  });

  for (const entry of corpus) {
    it(`${entry.category}: ${entry.name}`, async () => {
      if (entry.expect === 'refused') {
        const code = refusal(entry.sql, 'member', entry.params ?? []);
        if (entry.code) expect(code).toBe(entry.code);
        return;
      }
      let checked: CheckedStatement;
      try {
        checked = check(entry.sql);
      } catch (e) {
        expect(e).toBeInstanceOf(SluiceError); // a refusal is safe too
        return;
      }
      if (!dbUp) return;
      const { rows, untouched } = await run(checked, entry.params ?? []);
      expect(rowLeaks(rows)).toEqual([]);
      if (entry.rows !== undefined) expect(rows).toHaveLength(entry.rows);
      expect(untouched).toBe(true);
    });
  }
});

describe('mysql validator: fenced fallback (no error oracle on other tenants\' rows)', () => {
  // BIGINT UNSIGNED out of range (1690) on tenant 2's rows only.
  const boom = (t: string): string => `cast(3 - ${t}tenant_id as unsigned) - 2 >= 0`;
  const cases: [string, number][] = [
    [`select id from customers where ${boom('')}`, 3],
    [`select c.id from customers c join orders o on o.customer_id = c.id and ${boom('o.')}`, 2],
    [`update customers set email = email where ${boom('')}`, 3],
    [`delete from orders where ${boom('')}`, 3],
  ];
  for (const [sql, expected] of cases) {
    it(`evaluates the caller's predicate only on the caller's rows: ${sql.slice(0, 40)}…`, async () => {
      const c = check(sql);
      expect(c.fallbackSql).toBeDefined();
      expect(c.sql).not.toContain('18446744073709551615');
      if (!dbUp) return;
      await conn.query(`SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO'`);
      await conn.query('START TRANSACTION');
      try {
        const [result] = await conn.query(c.fallbackSql!, bindParams(c, [], TENANT1));
        expect(Array.isArray(result) ? result.length : (result as { affectedRows: number }).affectedRows).toBe(expected);
      } finally {
        await conn.query('ROLLBACK');
      }
    });
  }

  it('keeps every view out of the query around it: LIMIT 18446744073709551615 is never merged', async () => {
    const c = check('select c.id from customers c join orders o on o.customer_id = c.id where c.id = ?');
    expect(c.fallbackSql!.match(/LIMIT 18446744073709551615\)/g)).toHaveLength(2);
    if (!dbUp) return;
    const [plan] = (await conn.query(`EXPLAIN FORMAT=JSON ${c.fallbackSql!}`, bindParams(c, [1], TENANT1))) as unknown as [{ EXPLAIN: string }[]];
    expect(plan[0]!.EXPLAIN.match(/"materialized"/g)).toHaveLength(2);
  });
});

describe('mysql validator: what Drizzle mysql-proxy sends', async () => {
  const corpus = await drizzleMysqlCorpus();

  it('parses, checks and round-trips every statement', () => {
    for (const s of corpus) expect(() => check(s.sql), s.name).not.toThrow();
    expect(corpus.length).toBeGreaterThanOrEqual(27);
  });

  for (const s of corpus) {
    // MariaDB has no LATERAL: Drizzle's relational `with` needs MySQL 8 (checked above, not run).
    const runnable = !check(s.sql).sql.includes('LATERAL');
    it.runIf(runnable)(`runs on MariaDB: ${s.name} (${s.method})`, async () => {
      if (!dbUp) return;
      const { rows, untouched } = await run(check(s.sql), s.params);
      expect(rowLeaks(rows)).toEqual([]);
      if (s.name === 'select all') expect(rows).toHaveLength(3);
      expect(untouched).toBe(true);
    });
  }
});

questionMarkPresetSuite('mysql', (sql) => check(sql), (sql) => refusal(sql), TENANT1);
