/**
 * A fresh two-tenant schema per suite (t_<random> plus a sibling t_<random>_other), created and
 * inspected through a direct admin connection — never through the gateway under test.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { PG_TEST_URL } from './skip.js';

const FIXTURE = new URL('../fixtures/pg-schema.sql', import.meta.url);

export const TENANT_TABLES = ['customers', 'orders', 'order_items'] as const;

export interface PgFixture {
  readonly schema: string;
  readonly otherSchema: string;
  readonly admin: pg.Pool;
  /** Tenant 2's rows, every hidden value and every never-permitted table, as one JSON string. */
  dumpProtected(): Promise<string>;
  /** Re-create and re-seed both schemas. */
  reset(): Promise<void>;
  drop(): Promise<void>;
}

export async function createPgFixture(url: string = PG_TEST_URL): Promise<PgFixture> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const otherSchema = `${schema}_other`;
  const admin = new pg.Pool({ connectionString: url, max: 2, application_name: 'sluice-test-admin' });
  const template = await readFile(FIXTURE, 'utf8');
  const ddl = template.replaceAll('__SCHEMA__', schema).replaceAll('__OTHER__', otherSchema);

  async function drop(): Promise<void> {
    await admin.query(`drop schema if exists ${schema} cascade; drop schema if exists ${otherSchema} cascade`);
  }

  async function reset(): Promise<void> {
    await drop();
    await admin.query(ddl);
  }

  async function dumpProtected(): Promise<string> {
    const q = async (sql: string): Promise<unknown> => (await admin.query(sql)).rows;
    const dump: Record<string, unknown> = {};
    for (const t of TENANT_TABLES) {
      dump[`${t}:tenant2`] = await q(`select * from ${schema}.${t} where tenant_id = 2 order by id`);
    }
    dump['customers:secret_note'] = await q(`select id, secret_note from ${schema}.customers where secret_note is not null order by id`);
    dump['audit_secrets'] = await q(`select * from ${schema}.audit_secrets order by id`);
    dump['other.customers'] = await q(`select * from ${otherSchema}.customers order by id`);
    return JSON.stringify(dump);
  }

  await reset();
  return {
    schema,
    otherSchema,
    admin,
    dumpProtected,
    reset,
    async drop() {
      try {
        await drop();
      } finally {
        await admin.end();
      }
    },
  };
}
