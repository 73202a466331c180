/**
 * The MySQL/SQLite fuzz fixture: DDL per dialect, seed rows, and the contract both fuzz backends
 * (sql-fuzz-mysql.ts, sql-fuzz-sqlite.ts) implement for the differential runner.
 *
 * Three tenants and a row without one; foreign keys customers ← orders ← order_items; nullable
 * columns with NULLs in them; two hidden columns (customers.secret_note, order_items.internal_code)
 * and a table no permission names (audit_secrets). Markers: every other-tenant text contains "T2"
 * or "T3", every hidden value "SECRET". Ids are explicit; new rows are numbered from 101.
 */
import type { Dialect } from './sql-fuzz-dialect.js';
import type { Write } from './sql-fuzz-dialect-writes.js';

export const FIXTURE_TABLES = ['customers', 'orders', 'order_items', 'audit_secrets'] as const;
export type FixtureTable = (typeof FIXTURE_TABLES)[number];

export function fixtureDdl(d: Dialect): string[] {
  const pk = d === 'mysql' ? 'int AUTO_INCREMENT PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const text = d === 'mysql' ? 'varchar(100)' : 'text';
  const num = d === 'mysql' ? 'decimal(10,2)' : 'real';
  const ts = d === 'mysql' ? 'datetime' : 'text';
  const engine = d === 'mysql' ? ' ENGINE=InnoDB AUTO_INCREMENT=101' : '';
  return [
    `CREATE TABLE customers (id ${pk}, tenant_id int NOT NULL, name ${text} NOT NULL, email ${text} UNIQUE, secret_note ${text})${engine}`,
    `CREATE TABLE orders (id ${pk}, tenant_id int NOT NULL, customer_id int NOT NULL REFERENCES customers(id), total ${num} NOT NULL,
       status ${text} NOT NULL DEFAULT 'open', created_at ${ts} NOT NULL DEFAULT '2024-01-01 00:00:00'${d === 'mysql' ? ', FOREIGN KEY (customer_id) REFERENCES customers(id)' : ''})${engine}`,
    `CREATE TABLE order_items (id ${pk}, tenant_id int, order_id int REFERENCES orders(id), sku ${text}, qty int, internal_code ${text}${
      d === 'mysql' ? ', FOREIGN KEY (order_id) REFERENCES orders(id)' : ''
    })${engine}`,
    `CREATE TABLE audit_secrets (id ${pk}, tenant_id int, token ${text})${engine}`,
  ];
}

export const SEED: Record<FixtureTable, unknown[][]> = {
  customers: [
    [1, 1, 'T1 Alice', 'alice@t1.example', 'SECRET-T1-alice'],
    [2, 2, 'T2 Bob', 'bob@t2.example', 'SECRET-T2-bob'],
    [3, 1, 'T1 Carol', 'carol@t1.example', null],
    [4, 2, 'T2 Dan', null, 'SECRET-T2-dan'],
    [5, 1, 'T1 Erin', null, null],
    [6, 2, 'T2 Fay', 'fay@t2.example', 'SECRET-T2-fay'],
    [7, 3, 'T3 Gus', 'gus@t3.example', 'SECRET-T3-gus'],
  ],
  orders: [
    [1, 1, 1, 10.5, 'open', '2024-01-02 03:04:05'],
    [2, 2, 2, 2000, 'T2-shipped', '2024-01-03 00:00:00'],
    [3, 1, 3, 20.25, 'shipped', '2024-02-01 12:00:00'],
    [4, 2, 4, 2100.5, 'T2-open', '2024-02-02 12:00:00'],
    [5, 1, 1, 30.75, 'open', '2024-03-01 08:30:00'],
    [6, 3, 7, 5, 'open', '2024-03-02 00:00:00'],
    [7, 2, 6, 0, 'open', '2024-01-02 03:04:05'],
  ],
  order_items: [
    [1, 1, 1, 'T1-SKU-A', 1, 'SECRET-IC-1'],
    [2, 1, 1, 'T1-SKU-B', 2, null],
    [3, 2, 2, 'T2-SKU-X', 7, 'SECRET-IC-3'],
    [4, 1, 3, 'T1-SKU-C', null, null],
    [5, 2, 4, 'T2-SKU-Y', 9, null],
    [6, 1, 5, 'T1-SKU-A', 4, null],
    [7, null, 1, 'NULL-TENANT-SKU', 3, 'SECRET-IC-7'],
    [8, 1, null, null, 5, null],
    [9, 3, 6, 'T3-SKU', 1, null],
  ],
  audit_secrets: [
    [1, 1, 'SECRET-AUDIT-T1'],
    [2, 2, 'SECRET-AUDIT-T2'],
  ],
};

/** One INSERT per table, values as SQL literals (trusted fixture text). */
export function seedSql(table: FixtureTable): string {
  const lit = (v: unknown): string => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v)}'`);
  return `INSERT INTO ${table} VALUES ${SEED[table].map((r) => `(${r.map(lit).join(', ')})`).join(', ')}`;
}

/** Every row of every table (plus the other database's, MariaDB), ordered by id. */
export type Dump = Record<string, unknown[][]>;

export type OracleAnswer =
  | {
      ok: true;
      rows: unknown[];
      rowCount: number;
      fenced: boolean;
      /** A write's metadata as the oracle's own run of it tells (see FuzzBackend.expectedMeta). */
      meta?: Record<string, unknown>;
    }
  | { ok: false; code: string; message: string };

/** Which copy of the fixture: `a` is the one sluice serves, `b` the oracle's copy for writes. */
export type Copy = 'a' | 'b';

export interface FuzzBackend {
  readonly dialect: Dialect;
  /** sluice's connection config for copy `a`. */
  readonly connection: unknown;
  /** `{{db}}`/`{{other}}` → real names for copy `copy`. */
  expand(sql: string, copy: Copy): string;
  /** Run directly on the database; a data error retries `fenced` (as sluice's fallback does). */
  run(sql: string, fenced: string, copy: Copy, write: boolean): Promise<OracleAnswer>;
  dump(copy: Copy): Promise<Dump>;
  /** Back to the seed (only what differs), including the id counters. */
  reset(copy: Copy, dump: Dump): Promise<void>;
  /** True when the copy is exactly the seed (rows and id counters). */
  pristine(copy: Copy, dump: Dump): Promise<boolean>;
  /** The method whose answer is a write's metadata (Drizzle's: SQLite `run`, MySQL `execute`). */
  readonly writeMethod: 'run' | 'execute';
  /**
   * The metadata sluice must answer for write `w` (no RETURNING), as the statement itself produced
   * it: computed from the oracle's run on copy `b` (`answer`) and the copy before and after it —
   * never from what a connection remembers of earlier statements.
   */
  expectedMeta(w: Write, answer: OracleAnswer & { ok: true }, before: Dump, after: Dump): Record<string, unknown>;
  close(): Promise<void>;
}
