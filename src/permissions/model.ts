/**
 * The permission model for one connection: role → qualified table → what the role may do. Built
 * once per thread from the frozen config; lookups on the request path are Map gets.
 */
import { TIER_PREFIX } from '../config/identifiers.js';
import type { Columns, Filter, FilterValue, SluiceConfig, TablePermission } from '../config/types.js';

export interface ColumnSet {
  /** null means every column ("*"). */
  readonly names: ReadonlySet<string> | null;
}

export interface CompiledTable {
  readonly schema: string;
  readonly table: string;
  readonly select?: { columns: ColumnSet; filter?: Filter };
  readonly insert?: { columns: ColumnSet; presets: ReadonlyMap<string, FilterValue> };
  readonly update?: { columns: ColumnSet; filter?: Filter };
  readonly delete?: { filter?: Filter };
  /** Columns the role may never change with UPDATE: those its row filters and presets pin down. */
  readonly pinned: ReadonlySet<string>;
  /** Column → the row it references, which a write must find visible to the caller (config `references`). */
  readonly references: ReadonlyMap<string, ReferencedColumn>;
}

export interface ReferencedColumn {
  /** "schema.table": the key of the referenced table in RolePermissions.tables. */
  readonly key: string;
  readonly column: string;
}

/** "table" (in the default schema) or "schema.table" → [schema, table]. */
function splitKey(key: string, defaultSchema: string): [string, string] {
  const dot = key.indexOf('.');
  return dot === -1 ? [defaultSchema, key] : [key.slice(0, dot), key.slice(dot + 1)];
}

export interface RolePermissions {
  readonly role: string;
  /** Key: "schema.table". */
  readonly tables: ReadonlyMap<string, CompiledTable>;
}

export interface ConnectionPermissions {
  readonly connection: string;
  readonly defaultSchema: string;
  role(name: string): RolePermissions | undefined;
}

export function columnSet(columns: Columns): ColumnSet {
  return { names: columns === '*' ? null : new Set(columns) };
}

export function allows(set: ColumnSet, column: string): boolean {
  return set.names === null || set.names.has(column);
}

/** Every column a filter mentions (so UPDATE cannot move a row out of its owner's reach). */
export function filterColumns(filter: Filter | undefined, out = new Set<string>()): Set<string> {
  if (!filter) return out;
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if ((key === 'and' || key === 'or') && Array.isArray(value)) {
      for (const f of value as Filter[]) filterColumns(f, out);
    } else {
      out.add(key);
    }
  }
  return out;
}

function compileTable(key: string, defaultSchema: string, perm: TablePermission): CompiledTable {
  const [schema, table] = splitKey(key, defaultSchema);
  const references = new Map<string, ReferencedColumn>();
  for (const [column, ref] of Object.entries(perm.references ?? {})) {
    references.set(column, { key: splitKey(ref.table, defaultSchema).join('.'), column: ref.column });
  }
  const pinned = new Set<string>();
  filterColumns(perm.select?.filter, pinned);
  filterColumns(perm.update?.filter, pinned);
  filterColumns(perm.delete?.filter, pinned);
  for (const c of Object.keys(perm.insert?.set ?? {})) pinned.add(c);
  const compiled: CompiledTable = {
    schema,
    table,
    pinned,
    references,
    ...(perm.select && { select: { columns: columnSet(perm.select.columns), ...(perm.select.filter && { filter: perm.select.filter }) } }),
    ...(perm.insert && { insert: { columns: columnSet(perm.insert.columns), presets: new Map(Object.entries(perm.insert.set ?? {})) } }),
    ...(perm.update && { update: { columns: columnSet(perm.update.columns), ...(perm.update.filter && { filter: perm.update.filter }) } }),
    ...(perm.delete && { delete: { ...(perm.delete.filter && { filter: perm.delete.filter }) } }),
  };
  return compiled;
}

/**
 * `tier`: a role with no entry for the connection itself falls back to its "@<tier>" entry, so one
 * set of permissions serves every dedicated database of a tier. The connection's own entry wins.
 */
export function compilePermissions(config: SluiceConfig, connection: string, tier?: string): ConnectionPermissions {
  const conn = config.connections[connection];
  if (!conn) throw new Error(`unknown connection ${connection}`);
  const defaultSchema = conn.schema;
  const roles = new Map<string, RolePermissions>();
  for (const [role, byConnection] of Object.entries(config.permissions)) {
    const tables = byConnection[connection] ?? (tier === undefined ? undefined : byConnection[`${TIER_PREFIX}${tier}`]);
    if (!tables) continue;
    const map = new Map<string, CompiledTable>();
    for (const [key, perm] of Object.entries(tables)) {
      const t = compileTable(key, defaultSchema, perm);
      map.set(`${t.schema}.${t.table}`, t);
    }
    roles.set(role, { role, tables: map });
  }
  return { connection, defaultSchema, role: (name) => roles.get(name) };
}
