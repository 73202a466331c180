/**
 * What `sluice init --from-database` reads from a database: its tables and views, each column in
 * order, which columns are generated (never written by a client) and which form the primary key.
 * The catalog is read through the gateway's own driver (read-only, with a timeout), so no database
 * library is imported outside drivers/; only the catalog SQL differs per dialect.
 */
import type { ConnectionConfig, Dialect } from '../config/types.js';
import { createDriver } from '../pool/create-driver.js';

export interface CatalogColumn {
  readonly name: string;
  /** Computed by the database (generated column, identity ALWAYS): a client can never write it. */
  readonly generated: boolean;
  readonly primaryKey: boolean;
  /** The database fills it when an INSERT leaves it out (a default, serial, identity, auto-increment, rowid). */
  readonly hasDefault: boolean;
}

export interface CatalogTable {
  readonly schema: string;
  readonly name: string;
  /** `view`: views, materialized and foreign tables — read, never written, through the gateway. */
  readonly kind: 'table' | 'view';
  /** A partition (Postgres): reached through its parent table, named here. */
  readonly partitionOf?: string | undefined;
  readonly columns: readonly CatalogColumn[];
}

export interface Catalog {
  /** The schema unqualified table names mean (the connection's `schema`). */
  readonly defaultSchema: string;
  readonly tables: readonly CatalogTable[];
}

/** One catalog row per column, in table and column order (see the queries in catalog-queries.ts). */
export interface CatalogRow {
  schema: string;
  table: string;
  kind: 'table' | 'view' | 'other';
  partition_of: string | null;
  column: string;
  generated: boolean;
  primary_key: boolean;
  has_default: boolean;
}

export interface CatalogQueries {
  /** One row `{ schema }`: where unqualified names point (Postgres: the search_path's first schema). */
  defaultSchema(conn: ConnectionConfig): string | { sql: string };
  /** CatalogRow per column of every table and view in `schemas`. */
  columns(schemas: readonly string[]): { sql: string; params: unknown[] };
}

const READ_TIMEOUT_MS = 30_000;
const MAX_ROWS = 1_000_000;
const MAX_BYTES = 256 * 1024 * 1024;

/** Postgres answers booleans, MySQL 0/1 (or '0'/'1'), SQLite integers. */
function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't';
}

function text(v: unknown, what: string): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  throw new Error(`the catalog answered a ${typeof v} for ${what}`);
}

function toRow(r: Record<string, unknown>): CatalogRow {
  return {
    schema: text(r.schema, 'a schema name'),
    table: text(r.table, 'a table name'),
    kind: r.kind === 'table' || r.kind === 'view' ? r.kind : 'other',
    partition_of: r.partition_of === null || r.partition_of === undefined ? null : text(r.partition_of, 'a parent table'),
    column: text(r.column, 'a column name'),
    generated: bool(r.generated),
    primary_key: bool(r.primary_key),
    has_default: bool(r.has_default),
  };
}

/** Rows (one per column, ordered) → tables; rows of other kinds (sequences, …) are dropped. */
export function groupCatalog(rows: readonly CatalogRow[]): CatalogTable[] {
  const tables: Array<{ schema: string; name: string; kind: 'table' | 'view'; partitionOf?: string; columns: CatalogColumn[] }> = [];
  for (const row of rows) {
    if (row.kind === 'other') continue;
    let last = tables.at(-1);
    if (!last || last.schema !== row.schema || last.name !== row.table) {
      last = { schema: row.schema, name: row.table, kind: row.kind, columns: [], ...(row.partition_of !== null && { partitionOf: row.partition_of }) };
      tables.push(last);
    }
    last.columns.push({ name: row.column, generated: row.generated, primaryKey: row.primary_key, hasDefault: row.has_default });
  }
  return tables;
}

type Run = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

async function defaultSchemaOf(fixed: string | { sql: string }, run: Run): Promise<string> {
  if (typeof fixed === 'string') return fixed;
  const schema = (await run(fixed.sql, []))[0]?.schema;
  // Postgres: current_schema() is null when no schema of the search_path exists.
  if (schema === null || schema === undefined) throw new Error('the database has no default schema (no schema of its search_path exists); name one with --schema');
  return text(schema, 'the default schema');
}

/**
 * The driver answers with sanitized errors, as it must to clients; the operator running
 * `sluice init` owns the database and needs the database's own words, which the driver logs.
 */
function catalogError(e: unknown, logged: readonly string[]): Error {
  const { code, sqlstate } = e as { code?: unknown; sqlstate?: unknown };
  const tags = [code, sqlstate].filter((t) => typeof t === 'string').join(', ');
  const detail = logged.length > 0 ? `: ${logged.join('; ')}` : '';
  return new Error(`cannot read the tables of the database: ${(e as Error).message}${tags === '' ? '' : ` (${tags})`}${detail}`);
}

export async function readCatalog(conn: ConnectionConfig, queries: Readonly<Record<Dialect, CatalogQueries>>, schemas: readonly string[]): Promise<Catalog> {
  const logged: string[] = [];
  const log = (_msg: string, details: Record<string, unknown>): void => {
    if (typeof details.err === 'string') logged.push(details.err);
  };
  const driver = createDriver({ ...conn, max: 1 } as ConnectionConfig, log);
  const q = queries[conn.dialect];
  let n = 0;
  const run: Run = async (sql, params) => {
    // A variable, not a literal: drivers that cap response bytes take maxResponseBytes, older ones ignore it.
    const request = { jobId: `init-${++n}`, sql, params, method: 'execute' as const, claims: {}, timeoutMs: READ_TIMEOUT_MS, maxRows: MAX_ROWS, maxResponseBytes: MAX_BYTES, readOnly: true };
    const result = await driver.execute(request);
    if (result.truncated) throw new Error(`the catalog is larger than ${MAX_ROWS} columns or ${MAX_BYTES} bytes; name fewer schemas`);
    return result.rows as Record<string, unknown>[];
  };
  try {
    const defaultSchema = schemas[0] ?? (await defaultSchemaOf(q.defaultSchema(conn), run));
    const wanted = schemas.length > 0 ? schemas : [defaultSchema];
    const { sql, params } = q.columns(wanted);
    return { defaultSchema, tables: groupCatalog((await run(sql, params)).map(toRow)) };
  } catch (e) {
    throw catalogError(e, logged);
  } finally {
    await driver.close();
  }
}
