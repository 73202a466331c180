/** INSERT, UPDATE and DELETE → our tree. Every clause not handled here is refused. */
import type { DeleteStmt, InsertStmt, LimitClause, Node, OrderByClause, ReturningClause, SetClause, UpdateStmt, UpsertClause } from 'sql-parser-cst';
import type { Delete, Expr, Insert, OnConflict, SelectColumn, SetItem, Update, With } from '../common/ir.js';
import { fromItems } from './from-clause.js';
import { ident, nameList, tableRef } from './names.js';
import { keywords, refuse } from './refuse.js';
import { orderBy, selectColumns, withClause } from './select.js';
import type { Walk } from './walk.js';

function unsupported(node: Node): never {
  return refuse(`${node.type.replaceAll('_', ' ')} is not supported by the gateway`);
}

function returning(node: ReturningClause, kind: 'insert' | 'update' | 'delete', w: Walk): SelectColumn[] {
  if (!w.opts.returning.has(kind)) refuse('RETURNING is not supported on this connection');
  return selectColumns(node.columns, w);
}

function setList(assignments: SetClause['assignments'], w: Walk): SetItem[] {
  return assignments.items.map((a) => {
    if (a.column.type !== 'identifier') refuse('Qualified SET columns are not allowed');
    const e: Expr = a.expr.type === 'default' ? { k: 'default' } : w.expr(a.expr);
    return { column: ident(a.column), e };
  });
}

function once<T>(current: T | undefined): void {
  if (current !== undefined) refuse('Unexpected repeated clause');
}

/** WITH before a write: read-only CTEs (a write inside one is refused by withClause). */
function writeWith(node: Node, w: Walk): With {
  if (node.type !== 'with_clause') return refuse('Unexpected WITH');
  return withClause(node, w);
}

/** SQLite's ORDER BY … LIMIT on UPDATE/DELETE. */
function writeOrderLimit(clause: OrderByClause | LimitClause, out: Update | Delete, w: Walk): void {
  if (clause.type === 'order_by_clause') {
    once(out.orderBy);
    out.orderBy = orderBy(clause, w);
    return;
  }
  once(out.limit);
  if (clause.offset || clause.rowsExamined || !clause.count || clause.count.type === 'limit_all') refuse('Only LIMIT n is allowed on UPDATE/DELETE');
  out.limit = w.expr(clause.count);
}

function onConflict(node: UpsertClause, insert: Insert, w: Walk): OnConflict {
  if (!w.opts.upsertClause) refuse('ON CONFLICT is not supported on this connection');
  if (insert.verb !== 'INSERT') refuse(`${insert.verb} cannot be combined with ON CONFLICT`);
  if (node.where) refuse('A WHERE on the ON CONFLICT target is not supported');
  const out: OnConflict = { action: node.action.type === 'upsert_action_update' ? 'update' : 'nothing' };
  const target = node.conflictTarget;
  if (target) {
    if (target.type !== 'paren_expr') refuse('ON CONSTRAINT is not supported');
    out.target = target.expr.items.map((spec) => {
      if (spec.opclass || spec.direction || spec.nullHandlingKw) refuse('The ON CONFLICT target must list plain column names');
      const e = w.expr(spec.expr);
      // Drizzle qualifies the target columns by the INSERT's table.
      if (e.k !== 'col' || e.name === '*' || (e.table !== undefined && e.table !== insert.table.name)) refuse('The ON CONFLICT target must list plain column names');
      return e.name;
    });
  }
  if (node.action.type === 'upsert_action_update') {
    out.set = setList(node.action.set.assignments, w);
    if (node.action.where) out.where = w.expr(node.action.where.expr);
  }
  return out;
}

function valuesRows(node: Node, w: Walk): Expr[][] {
  if (node.type !== 'values_clause' || keywords(node.valuesKw) !== 'VALUES') refuse('Unexpected VALUES');
  return node.values.items.map((row) => {
    if (row.type !== 'paren_expr') refuse('Unexpected VALUES row');
    return row.expr.items.map((v): Expr => (v.type === 'default' ? { k: 'default' } : w.expr(v)));
  });
}

export function insertStmt(node: InsertStmt, w: Walk): Insert {
  let out: Insert | undefined;
  let withList: With | undefined;
  const upserts: UpsertClause[] = [];
  let ret: ReturningClause | undefined;
  for (const clause of node.clauses) {
    switch (clause.type) {
      case 'insert_clause': {
        once(out);
        if (keywords(clause.insertKw) !== 'INSERT') refuse('REPLACE is not allowed');
        let verb: Insert['verb'] = 'INSERT';
        const mods = clause.modifiers.map((m) => keywords(m.modifierKw));
        if (mods.join(' ') === 'IGNORE') verb = 'INSERT IGNORE';
        else if (mods.length > 0) refuse(`INSERT ${mods.join(' ')} is not allowed`);
        if (clause.orAction) {
          const action = keywords(clause.orAction.actionKw);
          if (action !== 'IGNORE' || verb !== 'INSERT') refuse(`INSERT OR ${action} is not allowed`);
          verb = 'INSERT OR IGNORE';
        }
        if (clause.table.type === 'partitioned_table') refuse('PARTITION is not allowed');
        if (!clause.columns) refuse('INSERT must list its columns');
        out = { k: 'insert', verb, table: tableRef(clause.table), columns: nameList(clause.columns), rows: [] };
        break;
      }
      case 'values_clause':
        if (!out || out.rows.length > 0 || out.source) return refuse('Unexpected VALUES');
        out.rows = valuesRows(clause, w);
        break;
      case 'select_stmt':
      case 'compound_select_stmt':
      case 'paren_expr':
        if (!out || out.rows.length > 0 || out.source) return refuse('Unexpected INSERT source');
        out.source = w.query(clause);
        break;
      case 'upsert_clause':
        upserts.push(clause);
        break;
      case 'on_duplicate_key_update_clause':
        if (!out || out.onDuplicate) return refuse('Unexpected ON DUPLICATE KEY UPDATE');
        out.onDuplicate = setList(clause.assignments, w);
        break;
      case 'returning_clause':
        once(ret);
        ret = clause;
        break;
      case 'with_clause':
        if (out || withList) return refuse('Unexpected WITH');
        withList = writeWith(clause, w);
        break;
      default:
        unsupported(clause);
    }
  }
  if (!out || (out.rows.length === 0 && !out.source)) return refuse('Only INSERT … VALUES and INSERT … SELECT are allowed');
  if (out.source && out.onDuplicate) refuse('INSERT … SELECT … ON DUPLICATE KEY UPDATE is not supported');
  if (withList) out.with = withList;
  if (upserts.length > 0) {
    if (out.source) refuse('ON CONFLICT belongs to INSERT … VALUES');
    out.onConflict = upserts.map((u) => onConflict(u, out, w));
  }
  if (ret) out.returning = returning(ret, 'insert', w);
  return out;
}

/** What an UPDATE or DELETE walk has read so far (WITH comes before the statement itself). */
interface WriteState<T extends Update | Delete> {
  out?: T;
  with?: With;
}

/** WITH, WHERE, RETURNING, ORDER BY and LIMIT: the clauses UPDATE and DELETE share. False for any other. */
function sharedClause<T extends Update | Delete>(clause: Node, state: WriteState<T>, w: Walk): boolean {
  const out = state.out;
  switch (clause.type) {
    case 'with_clause':
      if (out || state.with) refuse('Unexpected WITH');
      state.with = writeWith(clause, w);
      return true;
    case 'where_clause':
      if (!out || out.where) refuse('Unexpected WHERE');
      out.where = w.expr(clause.expr);
      return true;
    case 'returning_clause':
      if (!out || out.returning) refuse('Unexpected RETURNING');
      out.returning = returning(clause, out.k, w);
      return true;
    case 'order_by_clause':
    case 'limit_clause':
      if (!out) refuse('Unexpected ORDER BY/LIMIT');
      writeOrderLimit(clause, out, w);
      return true;
    default:
      return false;
  }
}

function finish<T extends Update | Delete>(state: WriteState<T>, what: string): T {
  if (!state.out) return refuse(`Unexpected ${what}`);
  if (state.with) state.out.with = state.with;
  return state.out;
}

export function updateStmt(node: UpdateStmt, w: Walk): Update {
  const state: WriteState<Update> = {};
  for (const clause of node.clauses) {
    if (sharedClause(clause, state, w)) continue;
    const out = state.out;
    switch (clause.type) {
      case 'update_clause':
        once(out);
        if (clause.modifiers.length > 0 || clause.orAction) refuse('UPDATE options are not allowed');
        if (clause.tables.items.length !== 1) refuse('UPDATE must name exactly one table');
        state.out = { k: 'update', table: tableRef(clause.tables.items[0]!), set: [] };
        break;
      case 'set_clause':
        if (!out || out.set.length > 0) return refuse('Unexpected SET');
        out.set = setList(clause.assignments, w);
        break;
      case 'from_clause':
        if (!out || out.from || out.where) return refuse('Unexpected FROM');
        if (clause.expr.type === 'dual_table') return refuse('FROM DUAL is not supported');
        out.from = fromItems(clause.expr, w);
        break;
      default:
        unsupported(clause);
    }
  }
  if (state.out?.set.length === 0) refuse('Unexpected UPDATE');
  return finish(state, 'UPDATE');
}

export function deleteStmt(node: DeleteStmt, w: Walk): Delete {
  const state: WriteState<Delete> = {};
  for (const clause of node.clauses) {
    if (sharedClause(clause, state, w)) continue;
    if (clause.type !== 'delete_clause') return unsupported(clause);
    once(state.out);
    if (clause.modifiers.length > 0 || !clause.fromKw) refuse('DELETE options are not allowed');
    if (clause.tables.items.length !== 1) refuse('Multi-table DELETE is not allowed');
    const t = clause.tables.items[0]!;
    if (t.type === 'partitioned_table') refuse('PARTITION is not allowed');
    state.out = { k: 'delete', table: tableRef(t) };
  }
  return finish(state, 'DELETE');
}
