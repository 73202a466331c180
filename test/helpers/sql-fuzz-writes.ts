/**
 * Random writes for the differential write fuzzer, built on the read generator (sql-fuzz.ts) for
 * predicates and subqueries.
 */
import fc from 'fast-check';
import { withTrapMarker } from './sql-fuzz-trap.js';
import { Builder, FUZZ_TABLES, LITERALS, printExpr, printFrom, printQuery, type Ctx, type Expr, type From, type Item, type Mode, type Select } from './sql-fuzz.js';

/**
 * Writes as the `member` role may attempt them: customers (insert name/email, update name/email,
 * delete), orders (insert customer_id/total). The oracle's form differs in two places: an INSERT
 * lists `tenant_id` with the claim's value (sluice writes that preset itself; the client may not),
 * and `RETURNING *` is spelled out (column grants refuse `*` over a hidden column).
 */
export type Write =
  | { k: 'delete'; alias: string; where: Expr | null; returning: boolean }
  | { k: 'update'; alias: string; set: { col: string; e: Expr }[]; from: From | null; where: Expr | null; returning: boolean }
  | {
      k: 'insert';
      table: 'customers' | 'orders';
      cols: string[];
      values: Expr[][] | null;
      select: Select | null;
      conflict: null | { target: 'email' | 'id'; set: { col: string; e: Expr }[] | null; where: Expr | null };
      returning: boolean;
    };

/** `RETURNING *`: the target's columns, then (UPDATE … FROM) the FROM item's, as Postgres expands it. */
function returningList(table: string, m: Mode, alias: string, from: From | null = null): string {
  if (m === 'sluice') return ' returning *';
  const rels: [string, string][] = [[alias, table]];
  if (from?.k === 'table') rels.push([from.alias, from.table]);
  else if (from) throw new Error('RETURNING * over a FROM item other than a table is not generated');
  return ` returning ${rels.flatMap(([a, t]) => FUZZ_TABLES[t]!.permitted.map((c) => `${a}.${c.name}`)).join(', ')}`;
}

/**
 * A write as a data-modifying CTE (issue 13): the statement's rows come from the CTE's RETURNING
 * (all of them, or counted), or, without RETURNING, the write runs for its effect alone.
 */
export type CteWrap = 'rows' | 'count';

export function inCte(sql: string, wrap: CteWrap, returning: boolean): string {
  if (!returning) return `with w as (${sql}) select 1 as done`;
  return `with w as (${sql}) ${wrap === 'rows' ? 'select * from w' : 'select count(*) as n from w'}`;
}

export function printWrite(w: Write, m: Mode, tenant: number): string {
  const sets = (s: { col: string; e: Expr }[]): string => s.map((x) => `${x.col} = ${printExpr(x.e, m)}`).join(', ');
  switch (w.k) {
    case 'delete':
      return `delete from customers ${w.alias}${w.where ? ` where ${printExpr(w.where, m)}` : ''}${w.returning ? returningList('customers', m, w.alias) : ''}`;
    case 'update':
      return `update customers ${w.alias} set ${sets(w.set)}${w.from ? ` from ${printFrom(w.from, m)}` : ''}${w.where ? ` where ${printExpr(w.where, m)}` : ''}${w.returning ? returningList('customers', m, w.alias, w.from) : ''}`;
    case 'insert': {
      const oracle = m === 'oracle';
      const cols = oracle ? [...w.cols, 'tenant_id'] : w.cols;
      let sql = `insert into ${w.table} as t (${cols.join(', ')}) `;
      if (w.values) sql += `values ${w.values.map((r) => `(${[...r.map((e) => printExpr(e, m)), ...(oracle ? [String(tenant)] : [])].join(', ')})`).join(', ')}`;
      else {
        const sel = w.select!;
        const items: Item[] = oracle ? [...sel.items, { k: 'expr', e: { k: 'lit', sql: String(tenant) }, as: 'tenant_id' }] : sel.items;
        sql += printQuery({ ...sel, items }, m);
      }
      if (w.conflict) {
        sql += ` on conflict (${w.conflict.target}) do `;
        sql += w.conflict.set ? `update set ${sets(w.conflict.set)}${w.conflict.where ? ` where ${printExpr(w.conflict.where, m)}` : ''}` : 'nothing';
      }
      return sql + (w.returning ? returningList(w.table, m, 't') : '');
    }
  }
}

class WriteBuilder extends Builder {
  private n = 0;
  /** The id of the tenant the case does not run as: a preset set to it is the attack (its own id is accepted, WITH CHECK). */
  otherTenant = '2';
  target(alias: string): Ctx {
    return { rels: [{ alias, cols: FUZZ_TABLES.customers!.permitted, table: 'customers' }], ctes: new Map(), depth: 1 };
  }
  textValue(ctx: Ctx): Expr {
    return this.chance(50) ? { k: 'lit', sql: `'new-${++this.n}'` } : { k: 'op', op: '||', l: this.scalar(ctx, 'text', 1), r: { k: 'lit', sql: `'-${++this.n}'` } };
  }
  email(): Expr {
    // Some collide with seeded emails (both tenants'), for ON CONFLICT and unique violations.
    return { k: 'lit', sql: this.chance(40) ? this.pick(["'alice@t1.example'", "'bob@t2.example'", "'fay@t2.example'", "'erin@t1.example'"]) : `'n${++this.n}@fuzz.example'` };
  }
  /** A third of the writes run as a data-modifying CTE. */
  cteWrap(): CteWrap | null {
    return this.chance(33) ? this.pick(['rows', 'count'] as const) : null;
  }
  write(): Write {
    const kind = this.int(0, 4);
    if (kind === 0) {
      const ctx = this.target('t');
      return { k: 'delete', alias: 't', where: this.chance(85) ? this.predicate(ctx, 2) : null, returning: this.chance(50) };
    }
    if (kind === 1) {
      const ctx = this.target('t');
      const set: { col: string; e: Expr }[] = [{ col: 'name', e: this.textValue(ctx) }];
      if (this.chance(30)) set.push({ col: 'email', e: this.email() });
      if (this.chance(10)) {
        this.probes++;
        set.push(this.chance(50) ? { col: 'tenant_id', e: { k: 'lit', sql: this.otherTenant } } : { col: 'name', e: { k: 'col', rel: 't', col: 'secret_note' } });
      }
      let from: From | null = null;
      let fctx = ctx;
      if (this.chance(25)) {
        const { from: f, rel } = this.baseFrom(ctx);
        from = f;
        fctx = { ...ctx, rels: [...ctx.rels, rel] };
      }
      return { k: 'update', alias: 't', set, from, where: this.chance(85) ? this.predicate(fctx, 2) : null, returning: this.chance(50) };
    }
    if (kind <= 3) {
      const tctx = this.target('t');
      let values: Expr[][] | null = null;
      let select: Select | null = null;
      if (this.chance(70)) {
        values = Array.from({ length: this.int(1, 2) }, () => [{ k: 'lit', sql: `'new-${++this.n}'` }, this.email()]);
      } else {
        const a = this.alias();
        const ctx: Ctx = { rels: [{ alias: a, cols: FUZZ_TABLES.customers!.permitted, table: 'customers' }], ctes: new Map(), depth: 1 };
        select = this.simpleSelect(
          [
            { k: 'expr', e: { k: 'op', op: '||', l: { k: 'col', rel: a, col: 'name' }, r: { k: 'lit', sql: `'-copy${++this.n}'` } }, as: 'name' },
            { k: 'expr', e: { k: 'op', op: '||', l: { k: 'col', rel: a, col: 'email' }, r: { k: 'lit', sql: `'.copy${this.n}'` } }, as: 'email' },
          ],
          [{ k: 'table', table: 'customers', alias: a, qualified: false }],
          this.predicate(ctx, 1),
        );
        // Ordered, so both runs draw the serial ids in the same order.
        select.limit = 100;
      }
      let conflict: Extract<Write, { k: 'insert' }>['conflict'] = null;
      if (this.chance(50)) {
        const update = this.chance(60);
        const set = update ? [{ col: 'name', e: this.chance(50) ? ({ k: 'col', rel: 'excluded', col: 'name' } as Expr) : this.textValue(tctx) }] : null;
        conflict = { target: 'email', set, where: update && this.chance(40) ? this.predicate(tctx, 1) : null };
      }
      return { k: 'insert', table: 'customers', cols: ['name', 'email'], values, select, conflict, returning: this.chance(50) };
    }
    const values = Array.from({ length: this.int(1, 2) }, () => [{ k: 'lit', sql: this.pick(['1', '2', '3', '5']) } as Expr, { k: 'lit', sql: this.pick(LITERALS.num) } as Expr]);
    return { k: 'insert', table: 'orders', cols: ['customer_id', 'total'], values, select: null, conflict: null, returning: this.chance(50) };
  }
}

export interface WriteCase {
  tenant: 1 | 2;
  /** Error-oracle traps in the statement (sql-fuzz-trap.ts). */
  traps: number;
  sluice: string;
  oracle: string;
  probe: boolean;
  /** Run as a data-modifying CTE under a SELECT. */
  cte: boolean;
}

/** One random write, as tenant 1 or 2. */
export function pgWriteCase(): fc.Arbitrary<WriteCase> {
  return fc.gen().map((g) => {
    const tenant = g(fc.constantFrom, 1 as const, 2 as const);
    const b = new WriteBuilder(g);
    b.otherTenant = String(3 - tenant);
    const w = b.write();
    const wrap = b.cteWrap();
    const print = (m: Mode): string => (wrap ? inCte(printWrite(w, m, tenant), wrap, w.returning) : printWrite(w, m, tenant));
    return { tenant, sluice: withTrapMarker(print('sluice'), tenant), oracle: print('oracle'), probe: b.probes > 0, traps: b.traps, cte: wrap !== null };
  });
}
