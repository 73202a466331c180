/** Identifiers and table names. */
import type { Node } from 'sql-parser-cst';
import type { TableRef } from '../common/ir.js';
import { refuse } from './refuse.js';

export function checkName(name: string): string {
  if (name.length === 0 || name.length > 128 || /[\u0000\\]/.test(name)) refuse('Invalid identifier');
  return name;
}

export function ident(node: Node | undefined): string {
  if (node?.type !== 'identifier') return refuse('Expected a name');
  return checkName(node.name);
}

/** `t` or `db.t`. */
export function entityName(node: Node): { db?: string; name: string } {
  if (node.type === 'identifier') return { name: ident(node) };
  if (node.type === 'member_expr' && node.object.type === 'identifier') return { db: ident(node.object), name: ident(node.property) };
  return refuse('Unexpected table name');
}

/** A write target: `t`, `db.t`, optionally aliased. */
export function tableRef(node: Node): TableRef {
  if (node.type === 'alias') {
    if (node.columnAliases) refuse('Column aliases on a table are not allowed');
    return { ...entityName(node.expr), as: ident(node.alias) };
  }
  return entityName(node);
}

/** The items of a `(a, b, …)` list of names. */
export function nameList(node: Node | undefined): string[] {
  if (node?.type !== 'paren_expr' || node.expr.type !== 'list_expr') return refuse('Expected a list of names');
  return node.expr.items.map((n) => ident(n));
}
