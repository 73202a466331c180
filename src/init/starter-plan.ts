/**
 * Which tables a starting config lets the role reach, and how: the safe reading of a catalog.
 *
 * A table with the tenant column: every column readable, rows filtered to the token's tenant, the
 * tenant column preset on insert (never written by the client, never updated), generated columns
 * never written, primary-key columns the database fills itself never inserted (a client-chosen id
 * that collides with another tenant's row would tell the client that row exists) and never updated.
 * A view (or materialized/foreign table) with the tenant column: read-only. Anything else is left
 * out, each with its reason, so a table is only ever reachable because someone decided it.
 */
import { IDENTIFIER } from '../config/identifiers.js';
import type { Columns, TablePermission } from '../config/types.js';
import type { Catalog, CatalogColumn, CatalogTable } from './catalog.js';

export interface StarterOptions {
  /** The column that holds the tenant (`--tenant-column`). */
  readonly tenantColumn: string;
  /** The claim reference the tenant column is compared with (`--tenant-claim`). */
  readonly tenantClaim: string;
}

export interface PlannedTable {
  /** The permission key: `table` in the default schema, else `schema.table`. */
  readonly key: string;
  readonly permission: TablePermission;
  /** What a reader should know about this table's entry (read-only view, columns left out, …). */
  readonly notes: readonly string[];
}

export type LeftOutReason = 'no-tenant-column' | 'name' | 'partition';

export interface LeftOutTable {
  readonly key: string;
  readonly reason: LeftOutReason;
  /** no-tenant-column: the table's representable columns, for a read-only entry a human may add. */
  readonly columns?: readonly string[];
  /** partition: the parent table's key. */
  readonly parent?: string;
}

export interface StarterPlan {
  readonly tables: readonly PlannedTable[];
  readonly leftOut: readonly LeftOutTable[];
}

function keyOf(table: Pick<CatalogTable, 'schema' | 'name'>, defaultSchema: string): string {
  return table.schema === defaultSchema ? table.name : `${table.schema}.${table.name}`;
}

const names = (columns: readonly CatalogColumn[]): string[] => columns.map((c) => c.name);

/** A non-empty column list, or undefined: an operation with no writable column is left out. */
function list(columns: readonly CatalogColumn[]): Columns | undefined {
  return columns.length > 0 ? names(columns) : undefined;
}

function planTable(table: CatalogTable, key: string, o: StarterOptions): PlannedTable {
  const notes: string[] = [];
  const unnamed = table.columns.filter((c) => !IDENTIFIER.test(c.name));
  if (unnamed.length > 0) notes.push(`columns left out (sluice takes unquoted names only): ${unnamed.map((c) => JSON.stringify(c.name)).join(', ')}`);
  const columns = table.columns.filter((c) => IDENTIFIER.test(c.name));
  const tenant = columns.find((c) => c.name === o.tenantColumn)!;
  // A fresh object per use: shared ones would be written as YAML anchors and aliases.
  const filter = (): Record<string, string> => ({ [o.tenantColumn]: `$claims.${o.tenantClaim}` });
  const select = { columns: names(columns), filter: filter() };
  if (table.kind === 'view') {
    notes.push('a view: read-only');
    return { key, permission: { select }, notes };
  }
  const generated = columns.filter((c) => c.generated);
  if (generated.length > 0) notes.push(`computed by the database, never written: ${names(generated).join(', ')}`);
  const others = columns.filter((c) => c !== tenant && !c.generated);
  const insertable = list(others.filter((c) => !(c.primaryKey && c.hasDefault)));
  const updatable = list(others.filter((c) => !c.primaryKey));
  const permission: TablePermission = { select };
  if (tenant.generated) notes.push(`${o.tenantColumn} is computed by the database, so it cannot be preset: no insert`);
  else if (insertable === undefined) notes.push('no column a client could insert besides the preset: no insert');
  else permission.insert = { columns: insertable, set: filter() };
  if (updatable !== undefined) permission.update = { columns: updatable, filter: filter() };
  permission.delete = { filter: filter() };
  return { key, permission, notes };
}

export function planStarter(catalog: Catalog, o: StarterOptions): StarterPlan {
  const tables: PlannedTable[] = [];
  const leftOut: LeftOutTable[] = [];
  for (const table of catalog.tables) {
    const key = keyOf(table, catalog.defaultSchema);
    if (!IDENTIFIER.test(table.name) || !IDENTIFIER.test(table.schema)) {
      leftOut.push({ key, reason: 'name' });
    } else if (table.partitionOf !== undefined) {
      leftOut.push({ key, reason: 'partition', parent: keyOf({ schema: table.schema, name: table.partitionOf }, catalog.defaultSchema) });
    } else if (!table.columns.some((c) => c.name === o.tenantColumn)) {
      leftOut.push({ key, reason: 'no-tenant-column', columns: names(table.columns.filter((c) => IDENTIFIER.test(c.name))) });
    } else {
      tables.push(planTable(table, key, o));
    }
  }
  return { tables, leftOut };
}
