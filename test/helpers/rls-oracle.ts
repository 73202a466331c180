/**
 * The differential fuzzers' oracle: a Postgres role whose only view of the fixture is row-level
 * security (policies reading `request.jwt.claims`, the convention sluice also binds) plus column
 * grants equivalent to the `member` permission (test/helpers/test-config.ts). Statements run as that
 * role inside a transaction that is always rolled back. RLS is enabled on the fixture tables; sluice
 * connects as the superuser, which bypasses it, so the gateway's own checks are still what is tested.
 */
import pg from 'pg';
import { drizzleTypes } from '../../src/drivers/pg/pg-types.js';
import { FUZZ_TABLES } from './sql-fuzz.js';

/** `rowCount`: the rows the statement returned or wrote (pg's command-tag count), for the write judges. */
export type OracleAnswer<S = undefined> = { ok: true; rows: unknown[]; rowCount: number | null; state: S } | { ok: false; code: string; message: string };

export interface RlsOracle {
  readonly role: string;
  /**
   * Run `sql` as the tenant; `after` (optional) runs on the same transaction with the role reset
   * (superuser), before the rollback, to see what a write would have left.
   */
  run<S = undefined>(sql: string, tenant: number, after?: (client: pg.PoolClient) => Promise<S>): Promise<OracleAnswer<S>>;
  /** Grants and policies again, after the fixture's schema was re-created. */
  apply(): Promise<void>;
  close(): Promise<void>;
}

const CLAIM = "(current_setting('request.jwt.claims', true)::json->>'tenant_id')::int";

export async function createRlsOracle(url: string, schema: string): Promise<RlsOracle> {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'sluice-test-fuzz-oracle' });
  const role = `${schema}_reader`;
  await pool.query(`create role ${role} nologin`);

  async function apply(): Promise<void> {
    const s = schema;
    const own = `tenant_id = ${CLAIM}`;
    const ddl = [`grant usage on schema ${s} to ${role}`, `grant usage on all sequences in schema ${s} to ${role}`];
    for (const [table, { permitted }] of Object.entries(FUZZ_TABLES)) {
      ddl.push(`grant select (${permitted.map((c) => c.name).join(', ')}) on ${s}.${table} to ${role}`);
      ddl.push(`alter table ${s}.${table} enable row level security`);
      ddl.push(`create policy tenant_read on ${s}.${table} for select to ${role} using (${own})`);
    }
    // Writes, as memberPermissions allows them (insert presets become a WITH CHECK on tenant_id).
    ddl.push(
      `grant insert (name, email, tenant_id), update (name, email), delete on ${s}.customers to ${role}`,
      `create policy tenant_insert on ${s}.customers for insert to ${role} with check (${own})`,
      `create policy tenant_update on ${s}.customers for update to ${role} using (${own}) with check (${own})`,
      `create policy tenant_delete on ${s}.customers for delete to ${role} using (${own})`,
      `grant insert (customer_id, total, tenant_id) on ${s}.orders to ${role}`,
      `create policy tenant_insert on ${s}.orders for insert to ${role} with check (${own})`,
      `alter table ${s}.audit_secrets enable row level security`,
    );
    await pool.query(ddl.join(';\n'));
  }

  async function run<S>(sql: string, tenant: number, after?: (client: pg.PoolClient) => Promise<S>): Promise<OracleAnswer<S>> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local role ${role}`);
      await client.query("select set_config('request.jwt.claims', $1, true), set_config('search_path', $2, true), set_config('statement_timeout', '10000', true)", [
        JSON.stringify({ sub: `oracle-t${tenant}`, role: 'member', tenant_id: tenant }),
        schema,
      ]);
      const res = await client.query({ text: sql, rowMode: 'array', types: drizzleTypes });
      const rows = JSON.parse(JSON.stringify(res.rows)) as unknown[];
      let state = undefined as S;
      if (after) {
        await client.query('reset role');
        state = await after(client);
      }
      return { ok: true, rows, rowCount: res.rowCount, state };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { ok: false, code: e.code ?? 'unknown', message: e.message ?? String(err) };
    } finally {
      await client.query('rollback').catch(() => undefined);
      client.release();
    }
  }

  await apply();
  return {
    role,
    run,
    apply,
    async close() {
      try {
        await pool.query(`drop owned by ${role}`).catch(() => undefined);
        await pool.query(`drop role if exists ${role}`);
      } finally {
        await pool.end();
      }
    },
  };
}
