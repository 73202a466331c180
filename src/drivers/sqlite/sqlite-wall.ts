/**
 * The engine-level second wall for SQLite, run in the SQLite process before a statement executes:
 * SQLite compiles the final (rewritten) statement, and
 *  1. a statement the validator called read-only must be `readonly` for SQLite too;
 *  2. the tables its VDBE program opens (OpenRead/OpenWrite/Clear root pages → sqlite_schema) must
 *     be tables the validator checked — plus, for writes, tables SQLite reaches by itself to
 *     enforce foreign keys (parents and children of a checked table) and `sqlite_sequence`, and
 *     for a checked view, the tables the view reads;
 *  3. opcodes that reach outside ordinary tables (virtual tables, schema changes, VACUUM,
 *     attached databases) are refused outright.
 * The validator is the first wall; this one catches what a validator bug would let through.
 */
import type Database from 'better-sqlite3';
import { SluiceError } from '../../errors.js';
import type { ExplainRow } from './sqlite-bounded.js';

const DENIED_OPCODES = new Set([
  'VOpen', 'VFilter', 'VUpdate', 'VCreate', 'VDestroy', 'VBegin', 'VRename', 'VCheck', 'VInitIn',
  'ParseSchema', 'CreateBtree', 'Destroy', 'DropTable', 'DropIndex', 'DropTrigger', 'SqlExec',
  'Vacuum', 'IncrVacuum', 'JournalMode', 'LoadAnalysis', 'Expire', 'Pagecount', 'MaxPgcnt',
  'Checkpoint', 'IntegrityCk',
]);
const OPENS = new Set(['OpenRead', 'OpenWrite', 'ReopenIdx']);
/** p5 flag: p2 names a register holding the root page (only schema statements use it). */
const OPFLAG_P2ISREG = 0x10;
const MAIN_DB = 0;

interface SchemaMap {
  version: number;
  /** root page → owning table name (lower case); indexes map to their table. */
  tableOfRoot: Map<number, string>;
  views: Set<string>;
  /** table → tables SQLite may open to enforce foreign keys (both directions). */
  fkNeighbours: Map<string, Set<string>>;
  /** view → tables it opens (computed on first use). */
  viewTables: Map<string, Set<string>>;
}

function refuse(message: string): SluiceError {
  return new SluiceError('TABLE_NOT_ALLOWED', `${message} (engine check)`);
}

/** `t`, `main.t`, `"t"` → `t`; anything in another database → undefined. */
function normalizeTable(name: string): string | undefined {
  const parts = name.split('.').map((p) => p.replace(/^["`[]|["`\]]$/g, '').toLowerCase());
  if (parts.length === 1) return parts[0];
  if (parts.length === 2 && parts[0] === 'main') return parts[1];
  return undefined;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export interface EngineWall {
  /**
   * Throws SluiceError when the compiled statement does not fit what the validator checked.
   * Returns the program it read (EXPLAIN), or undefined when `tables` is undefined (no program read).
   */
  check(stmt: Database.Statement, sql: string, params: unknown[], readOnly: boolean, tables: readonly string[] | undefined): ExplainRow[] | undefined;
  /** The statement's VDBE program. */
  explain(sql: string, params: unknown[]): ExplainRow[];
}

export function createEngineWall(db: Database.Database): EngineWall {
  let schema: SchemaMap | undefined;

  function loadSchema(): SchemaMap {
    const version = db.pragma('schema_version', { simple: true }) as number;
    if (schema?.version === version) return schema;
    const rows = db.prepare('select type, name, tbl_name, rootpage from main.sqlite_schema').all() as Array<{ type: string; name: string; tbl_name: string; rootpage: number | null }>;
    const tableOfRoot = new Map<number, string>([[1, 'sqlite_schema']]);
    const views = new Set<string>();
    const fkNeighbours = new Map<string, Set<string>>();
    const link = (a: string, b: string): void => {
      if (!fkNeighbours.has(a)) fkNeighbours.set(a, new Set());
      fkNeighbours.get(a)!.add(b);
    };
    for (const r of rows) {
      if (r.type === 'view') views.add(r.name.toLowerCase());
      if (r.rootpage) tableOfRoot.set(r.rootpage, r.tbl_name.toLowerCase());
    }
    for (const r of rows) {
      if (r.type !== 'table') continue;
      const fks = db.prepare('select "table" as parent from pragma_foreign_key_list(?)').all(r.name) as Array<{ parent: string }>;
      for (const fk of fks) {
        link(r.name.toLowerCase(), fk.parent.toLowerCase());
        link(fk.parent.toLowerCase(), r.name.toLowerCase());
      }
    }
    schema = { version, tableOfRoot, views, fkNeighbours, viewTables: new Map() };
    return schema;
  }

  function explain(sql: string, params: unknown[]): ExplainRow[] {
    return db.prepare(`EXPLAIN ${sql}`).all(...params) as ExplainRow[];
  }

  /** The tables (by root page) a program opens; throws on anything outside ordinary tables. */
  function openedTables(rows: ExplainRow[], s: SchemaMap): Set<string> {
    const opened = new Set<string>();
    for (const r of rows) {
      if (DENIED_OPCODES.has(r.opcode)) throw refuse(`The compiled statement uses ${r.opcode}`);
      let root: number;
      let dbIndex: number;
      if (OPENS.has(r.opcode)) {
        if (r.p5 & OPFLAG_P2ISREG) throw refuse('The compiled statement opens a computed root page');
        root = r.p2;
        dbIndex = r.p3;
      } else if (r.opcode === 'Clear') {
        root = r.p1;
        dbIndex = r.p2;
      } else continue;
      if (dbIndex !== MAIN_DB) throw refuse('The compiled statement opens a table outside the main database');
      const table = s.tableOfRoot.get(root);
      if (table === undefined) throw refuse('The compiled statement opens an unknown b-tree');
      opened.add(table);
    }
    return opened;
  }

  function tablesOfView(view: string, s: SchemaMap): Set<string> {
    let tables = s.viewTables.get(view);
    if (!tables) {
      tables = openedTables(explain(`SELECT * FROM main.${quoteIdent(view)}`, []), s);
      s.viewTables.set(view, tables);
    }
    return tables;
  }

  return {
    check(stmt, sql, params, readOnly, tables) {
      if (readOnly && !stmt.readonly) {
        throw new SluiceError('STATEMENT_NOT_ALLOWED', 'The statement writes, but was checked as a read (engine check)');
      }
      if (tables === undefined) return undefined;
      const s = loadSchema();
      const allowed = new Set<string>();
      for (const t of tables) {
        const name = normalizeTable(t);
        if (name === undefined) throw refuse('A checked table is outside the main database');
        allowed.add(name);
        if (s.views.has(name)) for (const v of tablesOfView(name, s)) allowed.add(v);
      }
      if (!stmt.readonly) {
        for (const t of [...allowed]) for (const n of s.fkNeighbours.get(t) ?? []) allowed.add(n);
        allowed.add('sqlite_sequence');
      }
      const program = explain(sql, params);
      for (const t of openedTables(program, s)) {
        if (!allowed.has(t)) throw refuse('The compiled statement touches a table the checked statement does not');
      }
      return program;
    },
    explain,
  };
}
