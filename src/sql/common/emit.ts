/**
 * Our tree → SQL text. Every identifier is quoted for the dialect, every string literal is
 * re-encoded from its decoded value, every compound expression is parenthesized: nothing of the
 * client's text is copied through. `named` mode writes placeholders as `:c1`/`:g1` (what the
 * parser reads back for the faithfulness check); `positional` mode writes `?` and records which
 * value each `?` takes, in order.
 */
import type { Delete, Expr, FromItem, Insert, OrderItem, Select, SelectColumn, SetItem, Statement, TableRef, Update, Window, With } from './ir.js';
import { DEFAULT_MARKER } from './placeholders.js';
import { quotedEnd } from '../quoted-end.js';

export interface EmitDialect {
  quoteIdent(name: string): string;
}

export interface Emitted {
  sql: string;
  /** Placeholder names (c<i> client, g<i> gateway) in the order their `?` appear. */
  order: string[];
}

const FUNCTION_NAME = /^[a-z_][a-z0-9_]*$/;

export function emitStatement(stmt: Statement, dialect: EmitDialect, mode: 'named' | 'positional'): Emitted {
  const order: string[] = [];
  const q = (name: string): string => dialect.quoteIdent(name);

  function str(v: string): string {
    if (v.includes('\\') || v.includes('\u0000')) throw new Error('emit: unexpected character in string literal');
    return `'${v.replaceAll("'", "''")}'`;
  }

  function list(items: Expr[]): string {
    return items.map(expr).join(', ');
  }

  function orderBy(items: OrderItem[]): string {
    return items.map((o) => `${expr(o.e)}${o.dir ? ` ${o.dir}` : ''}`).join(', ');
  }

  function windowSpec(w: Window): string {
    const parts: string[] = [];
    if (w.partitionBy.length > 0) parts.push(`PARTITION BY ${list(w.partitionBy)}`);
    if (w.orderBy.length > 0) parts.push(`ORDER BY ${orderBy(w.orderBy)}`);
    return ` OVER (${parts.join(' ')})`;
  }

  function expr(e: Expr): string {
    switch (e.k) {
      case 'col':
        return `${e.table !== undefined ? `${q(e.table)}.` : ''}${e.name === '*' ? '*' : q(e.name)}`;
      case 'star':
        return '*';
      case 'num':
        return e.v;
      case 'str':
        return str(e.v);
      case 'null':
        return 'NULL';
      case 'bool':
        return e.v ? 'TRUE' : 'FALSE';
      case 'param':
        order.push(e.name);
        return mode === 'named' ? ` :${e.name} ` : '?';
      case 'default':
        return mode === 'named' ? ` :${DEFAULT_MARKER} ` : 'DEFAULT';
      case 'bin':
        if (e.r.k === 'list') {
          const sep = e.op.endsWith('BETWEEN') ? ' AND ' : ', ';
          // Left operand first: `order` must list the placeholders in the order they are printed.
          const left = expr(e.l);
          const body = e.r.items.map(expr).join(sep);
          return e.op.endsWith('BETWEEN') ? `(${left} ${e.op} ${body})` : `(${left} ${e.op} (${body}))`;
        }
        return `(${expr(e.l)} ${e.op} ${expr(e.r)})`;
      case 'un':
        return `(${e.op} ${expr(e.e)})`;
      case 'list':
        return `(${list(e.items)})`;
      case 'fn': {
        if (!FUNCTION_NAME.test(e.name)) throw new Error('emit: unexpected function name');
        if (e.bare) return e.name.toUpperCase();
        let args = list(e.args);
        if (e.distinct) args = `DISTINCT ${args}`;
        if (e.orderBy) args += ` ORDER BY ${orderBy(e.orderBy)}`;
        if (e.separator !== undefined) args += ` SEPARATOR ${str(e.separator)}`;
        return `${e.name}(${args})${e.over ? windowSpec(e.over) : ''}`;
      }
      case 'case':
        return `CASE ${e.whens.map((w) => `WHEN ${expr(w.cond)} THEN ${expr(w.result)}`).join(' ')}${e.else ? ` ELSE ${expr(e.else)}` : ''} END`;
      case 'cast':
        return `CAST(${expr(e.e)} AS ${e.type})`;
      case 'sub':
        return `(${select(e.q)})`;
      case 'exists':
        return `(${e.not ? 'NOT EXISTS' : 'EXISTS'} (${select(e.q)}))`;
    }
  }

  function columns(cols: SelectColumn[]): string {
    return cols.map((c) => `${expr(c.e)}${c.as !== undefined ? ` AS ${q(c.as)}` : ''}`).join(', ');
  }

  function fromItem(f: FromItem, first: boolean): string {
    let sql: string;
    if (f.k === 'table') sql = `${f.db !== undefined ? `${q(f.db)}.` : ''}${q(f.name)}`;
    else if (f.k === 'derived') sql = `${f.lateral ? 'LATERAL ' : ''}(${select(f.q)})`;
    else sql = expr(f.fn);
    if (f.as !== undefined) sql += ` AS ${q(f.as)}`;
    if (f.on) sql += ` ON ${expr(f.on)}`;
    if (f.using) sql += ` USING (${f.using.map(q).join(', ')})`;
    if (first) return sql;
    return f.join ? ` ${f.join} ${sql}` : `, ${sql}`;
  }

  function withList(w: With | undefined): string {
    if (!w) return '';
    const ctes = w.ctes.map((c) => `${q(c.name)}${c.columns ? ` (${c.columns.map(q).join(', ')})` : ''} AS (${select(c.q)})`);
    return `WITH ${w.recursive ? 'RECURSIVE ' : ''}${ctes.join(', ')} `;
  }

  function select(s: Select): string {
    const parts: string[] = [];
    if (s.with) parts.push(withList(s.with).trimEnd());
    parts.push(`SELECT ${s.distinct ? 'DISTINCT ' : ''}${columns(s.columns)}`);
    if (s.from.length > 0) parts.push(`FROM ${s.from.map((f, i) => fromItem(f, i === 0)).join('')}`);
    if (s.where) parts.push(`WHERE ${expr(s.where)}`);
    if (s.groupBy) parts.push(`GROUP BY ${list(s.groupBy)}`);
    if (s.having) parts.push(`HAVING ${expr(s.having)}`);
    if (s.orderBy) parts.push(`ORDER BY ${orderBy(s.orderBy)}`);
    if (s.limit) parts.push(`LIMIT ${expr(s.limit)}`);
    if (s.offset) parts.push(`OFFSET ${expr(s.offset)}`);
    if (s.lock) parts.push(s.lock);
    if (s.setOp) parts.push(`${s.setOp.op} ${select(s.setOp.next)}`);
    return parts.join(' ');
  }

  function table(t: TableRef): string {
    return `${t.db !== undefined ? `${q(t.db)}.` : ''}${q(t.name)}${t.as !== undefined ? ` AS ${q(t.as)}` : ''}`;
  }

  function setList(items: SetItem[]): string {
    return items.map((s) => `${q(s.column)} = ${expr(s.e)}`).join(', ');
  }

  function returning(cols: SelectColumn[] | undefined): string {
    return cols ? ` RETURNING ${columns(cols)}` : '';
  }

  /** SQLite's ORDER BY … LIMIT on UPDATE/DELETE. */
  function writeLimit(s: Update | Delete): string {
    return `${s.orderBy ? ` ORDER BY ${orderBy(s.orderBy)}` : ''}${s.limit ? ` LIMIT ${expr(s.limit)}` : ''}`;
  }

  function insert(s: Insert): string {
    const head = withList(s.with);
    const body = s.source ? select(s.source) : `VALUES ${s.rows.map((r) => `(${list(r)})`).join(', ')}`;
    let sql = `${head}${s.verb} INTO ${table(s.table)} (${s.columns.map(q).join(', ')}) ${body}`;
    if (s.onDuplicate) sql += ` ON DUPLICATE KEY UPDATE ${setList(s.onDuplicate)}`;
    for (const c of s.onConflict ?? []) {
      sql += ` ON CONFLICT${c.target ? ` (${c.target.map(q).join(', ')})` : ''}`;
      if (c.action === 'nothing') sql += ' DO NOTHING';
      else sql += ` DO UPDATE SET ${setList(c.set ?? [])}${c.where ? ` WHERE ${expr(c.where)}` : ''}`;
    }
    return sql + returning(s.returning);
  }

  function update(s: Update): string {
    // Printed left to right, one part at a time: `order` must list the placeholders as they appear
    // (SET before FROM), whatever order a template literal's parts would be built in.
    const head = withList(s.with);
    const set = setList(s.set);
    const from = s.from ? ` FROM ${s.from.map((f, i) => fromItem(f, i === 0)).join('')}` : '';
    return `${head}UPDATE ${table(s.table)} SET ${set}${from}${s.where ? ` WHERE ${expr(s.where)}` : ''}${returning(s.returning)}${writeLimit(s)}`;
  }

  function del(s: Delete): string {
    const head = withList(s.with);
    return `${head}DELETE FROM ${table(s.table)}${s.where ? ` WHERE ${expr(s.where)}` : ''}${returning(s.returning)}${writeLimit(s)}`;
  }

  let sql: string;
  switch (stmt.k) {
    case 'select':
      sql = select(stmt);
      break;
    case 'insert':
      sql = insert(stmt);
      break;
    case 'update':
      sql = update(stmt);
      break;
    case 'delete':
      sql = del(stmt);
      break;
  }
  return { sql, order };
}

/**
 * The placeholder names of a statement printed in 'named' mode, in the order they appear in the
 * text: quoted strings and identifiers (the printer doubles their quote characters and never
 * prints backslashes or comments) are skipped, so a literal holding ` :g1 ` is not a placeholder.
 * The validator checks this against the printer's own `order`: the values are bound by that
 * order, so a part printed in another order than it was built (UPDATE … SET before FROM) must
 * not bind a client value into a row filter's slot.
 */
export function placeholderTextOrder(named: string): string[] {
  const out: string[] = [];
  const marker = /^ :([cg][0-9]+) /;
  for (let i = 0; i < named.length; ) {
    const ch = named[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i = quotedEnd(named, i, ch, false) ?? named.length;
      continue;
    }
    if (ch === ' ' && named[i + 1] === ':') {
      const m = marker.exec(named.slice(i, i + 16));
      if (m) {
        out.push(m[1]!);
        i += m[0].length - 1; // the closing space may open the next marker
        continue;
      }
    }
    i++;
  }
  return out;
}
