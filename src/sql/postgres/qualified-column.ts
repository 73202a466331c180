/**
 * `schema.table.column` and `schema.table.*` once tables became views. Postgres resolves such a
 * name to the unaliased FROM item that is the relation schema.table — innermost level first, never
 * a subquery, a CTE or an aliased item — and otherwise reads `a.b.c` as field c of column b of
 * item a. A view keeps its table's name as alias, so the reference becomes `table.column`, which
 * must then reach the same item: an item of that name at the same or an inner level would capture
 * it, and such statements are refused (they cannot be kept apart). A DML target and a table used
 * as itself (from-clause.ts) stay real relations, so their references are kept as written.
 */
import { refuse } from './context.js';
import type { Node } from './ast.js';
import type { Scope, ScopeItem } from '../common/scope.js';

function relationItem(scope: Scope | null, schema: string, table: string): ScopeItem | undefined {
  let shadowed = false;
  for (let s = scope; s; s = s.parent) {
    const matches = s.items.filter((i) => i.relation?.schema === schema && i.relation.table === table);
    const named = s.items.filter((i) => i.name === table);
    if (matches.length > 0) {
      if (shadowed || matches.length > 1 || named.length > 1) {
        refuse('CONSTRUCT_NOT_ALLOWED', `${schema}.${table} cannot be told apart from another item named ${table}: give the tables aliases`);
      }
      return matches[0];
    }
    if (named.length > 0) shadowed = true;
  }
  return undefined;
}

/**
 * Rewrites `fields` (a ColumnRef's) in place when they name a viewed table by its schema, and
 * returns the names to check as `qualifier…, column` (scope.ts): `a.b.c` that names no relation is
 * column b of item a (its field c is part of b's value).
 */
export function unqualifyColumn(fields: Node[], names: string[], star: boolean, scope: Scope | null): string[] {
  const schemaQualified = star ? names.length === 2 : names.length === 3;
  if (!schemaQualified) return names;
  const item = relationItem(scope, names[0]!, names[1]!);
  if (!item) return star ? names : names.slice(0, 2);
  if (item.view) fields.splice(0, 1);
  return names.slice(1);
}
