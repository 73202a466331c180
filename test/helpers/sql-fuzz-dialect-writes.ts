/**
 * Random writes for the MySQL/MariaDB and SQLite differential fuzzers, built on the read generator
 * (sql-fuzz-dialect-gen.ts) for predicates and subqueries. The oracle's form of a write is the
 * statement with the tenant written by hand:
 *
 * - DELETE/UPDATE: `WHERE tenant_id = <t> AND (<where>)` (fenced: `… AND CASE WHEN tenant_id = <t>
 *   THEN <where> ELSE FALSE END`), every table in a subquery replaced by the tenant's view;
 * - INSERT: `tenant_id` listed with the tenant's value (a client DEFAULT/NULL there becomes it; a
 *   DEFAULT/NULL in a column the role may not write is left to the database default); INSERT …
 *   SELECT appends the tenant's value to every select list;
 * - ON DUPLICATE KEY UPDATE: `col = IF(tenant_id = <t>, <value>, col)` (another tenant's row that
 *   collides is left alone); ON CONFLICT DO UPDATE: `WHERE <table>.tenant_id = <t> AND (<where>)`;
 * - RETURNING *: the permitted columns spelled out.
 */
import fc from 'fast-check';
import { Builder, LITERALS, type Ctx, type Profile } from './sql-fuzz-dialect-gen.js';
import {
  DB,
  FUZZ_SCHEMA,
  ident,
  permittedCols,
  printAll,
  printExpr,
  printFrom,
  printQuery,
  type Dialect,
  type Expr,
  type Item,
  type PrintOpts,
  type Printed,
  type Query,
  type Select,
  type TableName,
} from './sql-fuzz-dialect.js';

interface Assign {
  col: string;
  e: Expr;
}

type Returning = 'star' | Expr[];

export type Write =
  | { k: 'delete'; table: TableName | 'audit_secrets'; qualified: boolean; where: Expr | null; returning: Returning | null; limit?: number }
  | {
      k: 'update';
      table: TableName;
      qualified: boolean;
      set: Assign[];
      where: Expr | null;
      returning: Returning | null;
      limit?: number;
      /** SQLite: `FROM <table> u` joined on `u.id = <target>.id` (at most one match per row: deterministic). */
      from?: TableName;
    }
  | {
      k: 'insert';
      ignore: boolean;
      table: TableName | 'audit_secrets';
      cols: string[];
      rows: Expr[][] | null;
      select: Query | null;
      onDup: Assign[] | null;
      onConflict: { target: string[] | null; set: Assign[] | null; where: Expr | null } | null;
      /** SQLite on sql-parser-cst: a second clause, `ON CONFLICT DO NOTHING`, after a first one with a target. */
      thenNothing?: boolean;
      returning: Returning | null;
    };

const lit = (sql: string): Expr => ({ k: 'lit', sql });
const tenantCol = (table: string, o: PrintOpts): string => `${ident(table, o)}.${ident('tenant_id', o)}`;

/** The caller's WHERE with the tenant predicate written in front (fenced: guarded by CASE). */
function ownWhere(table: string, where: Expr | null, o: PrintOpts): string {
  const own = `${tenantCol(table, o)} = ${o.tenant}`;
  if (o.mode === 'sluice') return where ? ` where ${printExpr(where, o)}` : '';
  if (!where) return ` where ${own}`;
  if (o.fenced) return ` where ${own} and (case when ${own} then ${printExpr(where, o)} else false end)`;
  return ` where ${own} and ${printExpr(where, o)}`;
}

/** SQLite's UPDATE/DELETE … ORDER BY id LIMIT n (deterministic: id is the key). */
function printLimit(table: string, limit: number | undefined, o: PrintOpts): string {
  return limit === undefined ? '' : ` order by ${ident(table, o)}.${ident('id', o)} limit ${limit}`;
}

function printReturning(table: string, r: Returning | null, o: PrintOpts): string {
  if (r === null) return '';
  if (r === 'star') {
    const t = table === 'audit_secrets' ? null : FUZZ_SCHEMA[table as TableName];
    if (o.mode === 'sluice' || !t || t.select === null) return ' returning *';
    return ` returning ${t.select.map((n) => ident(n, o)).join(', ')}`;
  }
  return ` returning ${r.map((e) => printExpr(e, o)).join(', ')}`;
}

/** Append the tenant's value to every select list of an INSERT … SELECT source. */
function withTenant(q: Query, tenant: number): Query {
  if (q.k === 'setop') return { ...q, l: withTenant(q.l, tenant), r: withTenant(q.r, tenant) as Select };
  const items: Item[] = [...q.items, { k: 'expr', e: lit(String(tenant)), as: null }];
  return { ...q, items };
}

export function printWrite(w: Write, o: PrintOpts): string {
  const target = (name: string, qualified: boolean): string => (qualified ? `${DB}.${ident(name, o)}` : ident(name, o));
  const sets = (s: Assign[]): string => s.map((x) => `${ident(x.col, o)} = ${printExpr(x.e, o)}`).join(', ');
  switch (w.k) {
    case 'delete':
      return `delete from ${target(w.table, w.qualified)}${ownWhere(w.table, w.where, o)}${printReturning(w.table, w.returning, o)}${printLimit(w.table, w.limit, o)}`;
    case 'update': {
      const from = w.from === undefined ? '' : ` from ${printFrom({ k: 'table', table: w.from, alias: 'u', qualified: false }, o)}`;
      const on: Expr = { k: 'op', op: '=', l: { k: 'col', rel: 'u', col: 'id' }, r: { k: 'col', rel: w.table, col: 'id' } };
      const where = w.from === undefined ? w.where : w.where ? { k: 'op' as const, op: 'and', l: on, r: w.where } : on;
      return `update ${target(w.table, w.qualified)} set ${sets(w.set)}${from}${ownWhere(w.table, where, o)}${printReturning(w.table, w.returning, o)}${printLimit(w.table, w.limit, o)}`;
    }
    case 'insert': {
      const oracle = o.mode === 'oracle' && w.table !== 'audit_secrets';
      const writable = w.table === 'audit_secrets' ? [] : (FUZZ_SCHEMA[w.table].insert ?? []);
      let cols = [...w.cols];
      let rows = w.rows?.map((r) => [...r]) ?? null;
      if (oracle) {
        // A DEFAULT/NULL in a column the role may not write leaves it to the database (SQLite has
        // no DEFAULT in VALUES: the column is dropped); in the preset column it is the tenant.
        const keep = cols.map((col) => col === 'tenant_id' || writable.includes(col) || o.dialect === 'mysql');
        cols = cols.filter((_, i) => keep[i]);
        rows = rows?.map((r) => r.filter((_, i) => keep[i])) ?? null;
        const at = cols.indexOf('tenant_id');
        if (at === -1) {
          cols.push('tenant_id');
          rows = rows?.map((r) => [...r, lit(String(o.tenant))]) ?? null;
        } else rows = rows?.map((r) => r.map((e, i) => (i === at ? lit(String(o.tenant)) : e))) ?? null;
      }
      const verb = w.ignore ? (o.dialect === 'mysql' ? 'insert ignore' : 'insert or ignore') : 'insert';
      let sql = `${verb} into ${ident(w.table, o)} (${cols.map((n) => ident(n, o)).join(', ')}) `;
      if (rows) sql += `values ${rows.map((r) => `(${r.map((e) => printExpr(e, o)).join(', ')})`).join(', ')}`;
      else sql += printQuery(oracle ? withTenant(w.select!, o.tenant) : w.select!, o);
      if (w.onDup) {
        const guard = (a: Assign): Expr => (oracle ? { k: 'fn', name: 'if', args: [{ k: 'op', op: '=', l: { k: 'col', rel: '', col: 'tenant_id' }, r: lit(String(o.tenant)) }, a.e, { k: 'col', rel: '', col: a.col }] } : a.e);
        sql += ` on duplicate key update ${sets(w.onDup.map((a) => ({ col: a.col, e: guard(a) })))}`;
      }
      if (w.onConflict) {
        const c = w.onConflict;
        sql += ` on conflict${c.target ? ` (${c.target.map((n) => ident(n, o)).join(', ')})` : ''} do `;
        sql += c.set ? `update set ${sets(c.set)}${oracle ? ownWhere(w.table, c.where, o) : c.where ? ` where ${printExpr(c.where, o)}` : ''}` : 'nothing';
        if (w.thenNothing && c.target) sql += ' on conflict do nothing';
      }
      return sql + printReturning(w.table, w.returning, o);
    }
  }
}

class WriteBuilder extends Builder {
  private n = 0;
  /** The id of the tenant the case does not run as: a preset set to it is the attack (its own id is accepted, WITH CHECK). */
  otherTenant = '2';

  target(table: TableName): Ctx {
    return { rels: [{ alias: table, cols: permittedCols(table), table, target: true }], ctes: new Map(), banned: new Set(), depth: 1 };
  }
  text(): Expr {
    return lit(`'new-${++this.n}'`);
  }
  email(): Expr {
    // Some collide with seeded emails (every tenant's), for unique violations and upserts.
    if (this.chance(15)) return lit('null');
    return lit(this.chance(15) ? this.pick(["'alice@t1.example'", "'bob@t2.example'", "'fay@t2.example'", "'carol@t1.example'", "'gus@t3.example'"]) : `'n${++this.n}@fuzz.example'`);
  }
  /** A value for `col` of `table` in INSERT VALUES. */
  value(table: TableName, col: string): Expr {
    switch (`${table}.${col}`) {
      case 'customers.id':
        return lit(this.pick(['101', '1', '2', '5', '7', '102']));
      case 'customers.name':
        // A subquery may find nothing: coalesce keeps the NOT NULL column satisfied.
        // VALUES cannot see the target (SQLite refuses it; MariaDB reads the row being inserted).
        return this.chance(15) ? { k: 'fn', name: 'coalesce', args: [this.scalarSubquery({ ...this.target(table), rels: [] }, 'text'), this.text()] } : this.text();
      case 'customers.email':
        return this.email();
      case 'orders.customer_id':
        return this.chance(15) ? this.scalarSubquery({ ...this.target(table), rels: [] }, 'int') : lit(this.pick(['1', '3', '5', '2', '7', '99']));
      case 'orders.total':
        return lit(this.pick(LITERALS.num));
      case 'orders.status':
        return lit(this.pick(["'open'", "'shipped'", "'new'"]));
      case 'order_items.order_id':
        return lit(this.pick(['1', '3', '5', '2', 'null', '99']));
      case 'order_items.sku':
        return this.chance(20) ? lit('null') : lit(`'SKU-${++this.n}'`);
      default:
        return lit(this.pick(['1', '2', '5', 'null']));
    }
  }
  /** An assignment for UPDATE / ON DUPLICATE KEY UPDATE / DO UPDATE. */
  assign(table: TableName, col: string, ctx: Ctx, extra: Expr | null): Assign {
    const self: Expr = { k: 'col', rel: '', col };
    const r = this.int(0, 4);
    if (extra && r === 0) return { col, e: extra };
    if (col === 'total') return { col, e: r <= 2 ? { k: 'op', op: '+', l: self, r: lit(this.pick(LITERALS.num)) } : lit(this.pick(LITERALS.num)) };
    if (col === 'email') return { col, e: this.email() };
    if (r === 1) return { col, e: { k: 'fn', name: 'concat', args: [self, lit(`'-${++this.n}'`)] } };
    // A subquery in SET: SQLite reads it; the MariaDB grammar of the gateway does not (rare there).
    if (r === 2 && (this.profile.dialect === 'sqlite' || this.chance(10))) return { col, e: { k: 'fn', name: 'coalesce', args: [this.scalarSubquery(ctx, 'text'), this.text()] } };
    return { col, e: col === 'status' ? lit(this.pick(["'open'", "'shipped'", "'held'"])) : this.text() };
  }
  returning(table: TableName, ctx: Ctx): Returning | null {
    if (!this.chance(40)) return null;
    if (this.chance(50)) return 'star';
    const cols = permittedCols(table);
    const out: Expr[] = [{ k: 'col', rel: '', col: 'id' }];
    out.push({ k: 'col', rel: this.chance(50) ? '' : table, col: this.pick(cols).name });
    if (this.chance(20)) out.push(this.scalarSubquery(ctx, 'int'));
    return out;
  }
  where(ctx: Ctx): Expr | null {
    return this.chance(85) ? this.predicate(ctx, 2) : null;
  }

  write(): Write {
    const d: Dialect = this.profile.dialect;
    const kind = this.int(0, 5);
    const table = this.pick<TableName>(['customers', 'orders', 'order_items']);
    const ctx = this.target(table);
    const qualified = this.chance(10);
    if (kind === 0) {
      // Mostly order_items: a customer or an order with rows referencing it cannot go (FK), which
      // both sides refuse alike.
      if (table !== 'order_items' && this.chance(50)) return { k: 'delete', table: 'order_items', qualified, where: this.where(this.target('order_items')), returning: this.returning('order_items', this.target('order_items')) };
      if (this.chance(3)) {
        this.probes++;
        return { k: 'delete', table: 'audit_secrets', qualified, where: null, returning: null };
      }
      // MariaDB: DELETE … RETURNING; SQLite: any RETURNING (and, on sql-parser-cst, ORDER BY … LIMIT).
      return { k: 'delete', table, qualified, where: this.where(ctx), returning: this.returning(table, ctx), ...this.writeLimit() };
    }
    if (kind === 1) {
      // order_items has no update permission: now and then, to see it refused.
      if (table === 'order_items' && this.chance(80)) return this.write();
      const cols = FUZZ_SCHEMA[table].update;
      if (cols === null || this.chance(5)) {
        // No update permission (order_items), or a preset/filter/hidden column: must be refused.
        this.probes++;
        const col = cols === null ? 'qty' : this.pick(['tenant_id', table === 'customers' ? 'secret_note' : 'id']);
        return { k: 'update', table, qualified, set: [{ col, e: lit(col === 'tenant_id' ? this.otherTenant : '2') }], where: this.where(ctx), returning: null };
      }
      const set = [this.assign(table, cols[0]!, ctx, null)];
      if (this.chance(30)) set.push(this.assign(table, cols[1]!, ctx, null));
      if (table === 'customers' && this.chance(4)) {
        this.probes++;
        set[0] = { col: 'name', e: { k: 'col', rel: '', col: 'secret_note' } };
      }
      // MariaDB has no UPDATE … RETURNING (rare there, counted as a refusal).
      const returning = d === 'sqlite' || this.chance(5) ? this.returning(table, ctx) : null;
      // SQLite on sql-parser-cst: UPDATE … FROM another table's tenant view.
      // (Never the target itself: sluice refuses that self-join, see the corpus in fuzz-sqlite.test.ts.)
      const from = this.profile.fullGrammar && this.chance(15) ? { from: this.pick<TableName>((['customers', 'orders', 'order_items'] as const).filter((t) => t !== table)) } : {};
      return { k: 'update', table, qualified, set, where: this.where(ctx), returning, ...this.writeLimit(), ...from };
    }
    return this.insert(table);
  }

  /** SQLite on sql-parser-cst: now and then ORDER BY id LIMIT n on UPDATE/DELETE. */
  writeLimit(): { limit?: number } {
    return this.profile.fullGrammar && this.chance(20) ? { limit: this.int(0, 3) } : {};
  }

  insert(table: TableName): Write {
    const d = this.profile.dialect;
    const perm = FUZZ_SCHEMA[table];
    const ctx = this.target(table);
    // Mostly every NOT NULL column: a statement both sides refuse proves little.
    const required = ['name', 'customer_id', 'total'];
    let cols = perm.insert!.filter((c) => (required.includes(c) && this.chance(95)) || this.chance(c === 'id' ? 25 : 75));
    if (cols.length === 0) cols = [perm.insert![0]!];
    const ignore = this.chance(12);
    const base = { k: 'insert' as const, ignore, table, onDup: null, onConflict: null, returning: null };
    if (this.chance(4)) {
      this.probes++;
      if (this.chance(50)) return { ...base, table: 'audit_secrets', cols: ['tenant_id', 'token'], rows: [[lit('1'), lit("'x'")]], select: null };
      return { ...base, cols: [...cols, 'tenant_id'], rows: [[...cols.map((c) => this.value(table, c)), lit(this.otherTenant)]], select: null };
    }
    if (this.chance(25)) return { ...base, cols, rows: null, select: this.insertSource(table, cols), returning: this.returning(table, ctx) };
    // DEFAULT (MySQL) / NULL (SQLite) in the preset column, or in a column the role may not write.
    const defaults = this.chance(15) ? [this.pick(table === 'orders' ? ['tenant_id', 'created_at'] : ['tenant_id'])] : [];
    const allCols = [...cols, ...defaults];
    const rows = Array.from({ length: this.int(1, 2) }, () => [...cols.map((c) => this.value(table, c)), ...defaults.map((): Expr => ({ k: 'default' }))]);
    const w: Write = { ...base, cols: allCols, rows, select: null, returning: this.returning(table, ctx) };
    if (this.chance(perm.update === null ? 8 : 45)) {
      const target = this.chance(15) ? null : table === 'customers' ? [this.pick(['email', 'id'])] : ['id'];
      if (d === 'sqlite' && this.chance(35)) return { ...w, ignore: false, onConflict: { target, set: null, where: null } };
      const updatable = perm.update ?? ['qty'];
      const set = [this.assign(table, this.pick(updatable), ctx, d === 'mysql' ? { k: 'values', col: this.pick(cols) } : { k: 'col', rel: 'excluded', col: this.pick(cols) })];
      // An update without update permission (order_items): must be refused.
      if (perm.update === null) this.probes++;
      if (d === 'mysql') return { ...w, onDup: set };
      const excludedCtx: Ctx = { ...ctx, rels: [...ctx.rels, { alias: 'excluded', cols: permittedCols(table), table: null }] };
      return { ...w, ignore: false, onConflict: { target, set, where: this.chance(40) ? this.predicate(excludedCtx, 1) : null }, ...(this.profile.fullGrammar && target !== null && this.chance(25) && { thenNothing: true }) };
    }
    return w;
  }

  /** INSERT … SELECT: ordered and limited, so both runs insert (and number) the same rows alike. */
  insertSource(table: TableName, cols: string[]): Query {
    const pickFrom = (): { q: Select } => {
      const { from, rel } = this.baseFrom({ rels: [], ctes: new Map(), banned: new Set(), depth: 1 });
      const ctx: Ctx = { rels: [rel], ctes: new Map(), banned: new Set(), depth: 1 };
      const items: Item[] = cols.map((col) => {
        const ty = FUZZ_SCHEMA[table].columns.find((c) => c.name === col)!.ty;
        if (col === 'email' || col === 'id') return { k: 'expr', e: lit('null'), as: null };
        if (ty === 'text') {
          const texts = this.colsOf(ctx, 'text');
          return { k: 'expr', e: { k: 'fn', name: 'concat', args: [texts.length > 0 ? this.pick(texts) : this.text(), lit(`'-copy${++this.n}'`)] }, as: null };
        }
        return { k: 'expr', e: this.scalar(ctx, ty, 1), as: null };
      });
      return { q: this.simpleSelect(items, [from], this.chance(70) ? this.predicate(ctx, 1) : null) };
    };
    const first = pickFrom().q;
    const q: Query = this.chance(15) ? { k: 'setop', op: 'union all', l: first, r: pickFrom().q, orderAll: null, limit: null } : first;
    q.orderAll = cols.length;
    q.limit = 100;
    return q;
  }
}

export interface WriteCase extends Printed {
  tenant: 1 | 2;
  /** Error-oracle traps in the statement (sql-fuzz-trap.ts). */
  traps: number;
  /** Sets a preset/filter column, reads or writes a hidden column or table: sluice must refuse. */
  probe: boolean;
  write: Write;
}

/** One random write, as tenant 1 or 2. */
export function writeCase(profile: Profile): fc.Arbitrary<WriteCase> {
  return fc.gen().map((g) => {
    const tenant = g(fc.constantFrom, 1 as const, 2 as const);
    const quoted = g(fc.integer, { min: 0, max: 99 }) >= 90;
    const withParams = g(fc.integer, { min: 0, max: 99 }) >= 70;
    const b = new WriteBuilder(g, profile);
    b.otherTenant = String(3 - tenant);
    const write = b.write();
    return { tenant, probe: b.probes > 0, traps: b.traps, write, ...printAll((o) => printWrite(write, o), profile.dialect, tenant, quoted, withParams) };
  });
}
