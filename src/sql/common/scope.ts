/**
 * Name resolution, just enough to protect DML targets. SELECT sources are rewritten into views of
 * their permitted columns, so they need no column checks. The target of UPDATE/DELETE/INSERT
 * cannot be rewritten that way, so every column reference that might reach it (WHERE, SET values,
 * RETURNING, ON CONFLICT, correlated subqueries) must name a column the role may read. Where
 * resolution is uncertain we assume the reference reaches the target: strict, never leaky.
 * Shared by every dialect (Postgres walks libpg-query's AST, MySQL/SQLite walk common/ir.ts).
 */
import { allows, type ColumnSet } from '../../permissions/model.js';
import { refuse } from './context.js';
import { asInput, ATOM, max, times, type Growth } from './value-growth.js';

export interface ScopeItem {
  /** The name the item goes by (alias, or table/CTE/function name). */
  name: string;
  /** Known output columns; null when unknown. */
  columns: ReadonlySet<string> | null;
  /** Set for the DML target: the columns the role may read (undefined: none). */
  target?: { readable: ColumnSet | undefined; label: string };
  /** Set for ON CONFLICT's `excluded`: columns the role may reference there. */
  excluded?: ColumnSet;
  /** Set for a rewritten table: `columns` is exactly what the view exposes. */
  view?: string;
  /**
   * Set for an unaliased table (view or DML target): the relation a schema-qualified reference
   * (`schema.table.column`, Postgres) may name it by.
   */
  relation?: { schema: string; table: string };
  /** How large its values may be (value-growth.ts); absent: stored values (one unit). */
  growth?: Growth;
}

export interface Scope {
  items: ScopeItem[];
  parent: Scope | null;
}

export function newScope(parent: Scope | null): Scope {
  return { items: [], parent };
}

function hasTarget(scope: Scope | null): boolean {
  for (let s = scope; s; s = s.parent) if (s.items.some((i) => i.target || i.excluded)) return true;
  return false;
}

function checkTargetColumn(item: ScopeItem, column: string): void {
  const t = item.target!;
  if (!t.readable) refuse('COLUMN_NOT_ALLOWED', `The role may not read columns of ${t.label} (no select permission)`);
  if (!allows(t.readable, column)) refuse('COLUMN_NOT_ALLOWED', `The role may not read ${t.label}.${column}`);
}

function checkItemColumn(item: ScopeItem, column: string): void {
  if (item.target) checkTargetColumn(item, column);
  else if (item.excluded && !allows(item.excluded, column)) {
    refuse('COLUMN_NOT_ALLOWED', `The role may not use excluded.${column}`);
  }
}

function resolveUnqualified(scope: Scope | null, column: string): void {
  for (let s = scope; s; s = s.parent) {
    if (s.items.some((i) => !i.target && !i.excluded && i.columns?.has(column))) return;
    const target = s.items.find((i) => i.target);
    if (target) {
      checkTargetColumn(target, column);
      return;
    }
  }
}

function findItem(scope: Scope | null, name: string): ScopeItem | undefined {
  for (let s = scope; s; s = s.parent) {
    const hit = s.items.find((i) => i.name === name);
    if (hit) return hit;
  }
  return undefined;
}

/** `names` are the ColumnRef's String fields; `star` when it ends in `*`. */
export function checkColumnRef(scope: Scope | null, names: string[], star: boolean): void {
  if (names.length >= 2 && !star) {
    // A qualified reference into a rewritten table: say plainly that the column is not permitted
    // (the view would only make Postgres report it as missing).
    const item = findItem(scope, names[names.length - 2]!);
    const column = names[names.length - 1]!;
    if (item?.view && item.columns && !item.columns.has(column)) {
      refuse('COLUMN_NOT_ALLOWED', `The role may not read ${item.view}.${column} (or it does not exist)`);
    }
  }
  if (!hasTarget(scope)) return;
  if (names.length === 0) {
    // Unqualified `*` expands the current scope only.
    const target = scope?.items.find((i) => i.target || i.excluded);
    if (target) checkItemColumn(target, '*');
    return;
  }
  if (names.length === 1 && !star) {
    resolveUnqualified(scope, names[0]!);
    return;
  }
  // qualifier(.s) + column or star: the last qualifier names the item.
  const qualifier = names.length === 1 ? names[0]! : names[names.length - (star ? 1 : 2)]!;
  const column = star ? '*' : names[names.length - 1]!;
  const item = findItem(scope, qualifier);
  if (item) {
    checkItemColumn(item, column);
    return;
  }
  // Not a FROM item: Postgres would read it as composite-field access on a column (or as
  // RETURNING's old/new), MySQL/SQLite as another database's table. We cannot see through that
  // next to a DML target, so refuse.
  refuse('COLUMN_NOT_ALLOWED', `Cannot verify the reference ${[...names, ...(star ? ['*'] : [])].join('.')}`);
}

/**
 * How large the value a column reference reads may be: the item it names (a whole row is quoted
 * field by field, so twice that); for a bare column, resolved as the database does — the
 * innermost level where an item is known to have it, else every item there whose columns are
 * unknown (were two to have it, the database would refuse the name as ambiguous).
 */
export function refGrowth(scope: Scope | null, names: readonly string[], star: boolean): Growth {
  const of = (item: ScopeItem): Growth => (item.growth ? asInput(item.growth) : ATOM);
  if (names.length >= 2 || (names.length === 1 && star)) {
    const item = findItem(scope, names[names.length - (star ? 1 : 2)]!);
    return item ? of(item) : ATOM;
  }
  if (star) return scope && scope.items.length > 0 ? max(scope.items.map(of)) : ATOM;
  const name = names[0]!;
  const unknown: Growth[] = [];
  for (let s = scope; s; s = s.parent) {
    const known = s.items.filter((i) => i.columns?.has(name));
    const whole = s.items.filter((i) => i.name === name).map((i) => times(of(i), 2));
    // Unknown items of inner levels may still have it; those of this level would make it ambiguous.
    if (known.length > 0 || whole.length > 0) return max([...unknown, ...known.map(of), ...whole]);
    unknown.push(...s.items.filter((i) => i.columns === null).map(of));
  }
  return unknown.length === 0 ? ATOM : max(unknown);
}
