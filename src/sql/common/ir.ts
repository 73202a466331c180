/**
 * The small, closed statement tree the MySQL and SQLite validators work on. The parser's tree is
 * converted into it (from-parser.ts for node-sql-parser, src/sql/cst/ for sql-parser-cst, each
 * refusing anything it does not know), checked and rewritten
 * here, and printed by our own emitter (emit.ts) — never by the library's deparser — so only
 * constructs listed below can reach the database, with identifiers and strings quoted by us.
 */
export type Expr =
  | { k: 'col'; table?: string; name: string } // name '*' for t.* / *
  | { k: 'star' } // count(*)
  | { k: 'num'; v: string }
  | { k: 'str'; v: string } // the decoded string value
  | { k: 'null' }
  | { k: 'bool'; v: boolean }
  | { k: 'param'; name: string } // c<i>: client placeholder i; g<i>: gateway param i
  | { k: 'default' } // DEFAULT in INSERT VALUES
  | { k: 'bin'; op: string; l: Expr; r: Expr }
  | { k: 'un'; op: string; e: Expr }
  | { k: 'list'; items: Expr[] } // IN (…) and BETWEEN … AND …
  | { k: 'fn'; name: string; args: Expr[]; distinct?: boolean; over?: Window; orderBy?: OrderItem[]; separator?: string; bare?: boolean }
  | { k: 'case'; whens: { cond: Expr; result: Expr }[]; else?: Expr }
  | { k: 'cast'; e: Expr; type: string }
  | { k: 'sub'; q: Select }
  | { k: 'exists'; q: Select; not: boolean };

export interface Window {
  partitionBy: Expr[];
  orderBy: OrderItem[];
}

export interface OrderItem {
  e: Expr;
  dir?: 'ASC' | 'DESC';
}

export interface SelectColumn {
  e: Expr;
  as?: string;
}

export type JoinKind = 'INNER JOIN' | 'LEFT JOIN' | 'RIGHT JOIN' | 'FULL JOIN' | 'CROSS JOIN';

interface FromBase {
  as?: string;
  /** Absent on the first item and on comma-separated items. */
  join?: JoinKind;
  on?: Expr;
  using?: string[];
}
export type FromItem =
  | (FromBase & { k: 'table'; db?: string; name: string })
  | (FromBase & { k: 'derived'; q: Select; lateral: boolean })
  | (FromBase & { k: 'tablefn'; fn: Expr & { k: 'fn' } });

export interface Cte {
  name: string;
  columns?: string[];
  q: Select;
}

export interface Select {
  k: 'select';
  with?: { recursive: boolean; ctes: Cte[] };
  distinct: boolean;
  columns: SelectColumn[];
  from: FromItem[];
  where?: Expr;
  groupBy?: Expr[];
  having?: Expr;
  orderBy?: OrderItem[];
  limit?: Expr;
  offset?: Expr;
  lock?: 'FOR UPDATE' | 'LOCK IN SHARE MODE';
  /** A set operation: this query, then `op`, then `next` (whose ORDER BY/LIMIT apply to the whole chain). */
  setOp?: { op: string; next: Select };
}

export interface SetItem {
  column: string;
  e: Expr;
}

export interface TableRef {
  db?: string;
  name: string;
  as?: string;
}

/** SQLite's upsert clause: the target columns, and DO NOTHING or DO UPDATE. */
export interface OnConflict {
  target?: string[];
  action: 'nothing' | 'update';
  set?: SetItem[];
  where?: Expr;
}

/** WITH on a write (SQLite): read-only CTEs the statement's subqueries may name. */
export type With = NonNullable<Select['with']>;

export interface Insert {
  k: 'insert';
  with?: With;
  verb: 'INSERT' | 'INSERT IGNORE' | 'REPLACE' | 'INSERT OR IGNORE';
  table: TableRef;
  columns: string[];
  /** VALUES rows; empty when `source` is set. */
  rows: Expr[][];
  /** INSERT … SELECT: the query (rewritten like any read). */
  source?: Select;
  onDuplicate?: SetItem[];
  /** SQLite's ON CONFLICT clauses, in order (each but the last names its target). */
  onConflict?: OnConflict[];
  returning?: SelectColumn[];
}

export interface Update {
  k: 'update';
  with?: With;
  table: TableRef;
  set: SetItem[];
  /** UPDATE … FROM (SQLite): the other tables the SET and WHERE may read. */
  from?: FromItem[];
  where?: Expr;
  returning?: SelectColumn[];
  /** SQLite's UPDATE … ORDER BY … LIMIT. */
  orderBy?: OrderItem[];
  limit?: Expr;
}

export interface Delete {
  k: 'delete';
  with?: With;
  table: TableRef;
  where?: Expr;
  returning?: SelectColumn[];
  /** SQLite's DELETE … ORDER BY … LIMIT. */
  orderBy?: OrderItem[];
  limit?: Expr;
}

export type Statement = Select | Insert | Update | Delete;

export const col = (name: string, table?: string): Expr => (table === undefined ? { k: 'col', name } : { k: 'col', table, name });
export const bin = (op: string, l: Expr, r: Expr): Expr => ({ k: 'bin', op, l, r });

export function and(parts: Expr[]): Expr {
  return parts.reduce((acc, p) => bin('AND', acc, p));
}
