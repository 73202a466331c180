/**
 * What runs inside the SQLite process: two better-sqlite3 connections to the file (read-write for
 * writes, read-only for reads, so a read that somehow writes fails in SQLite itself), each with a
 * bounded cache of prepared statements that already passed the engine wall.
 *
 * Writes run in `BEGIN IMMEDIATE … COMMIT` (all statements of a batch in one transaction); a single
 * read runs as one atomic statement, several reads in one deferred transaction (one snapshot).
 *
 * The worker thread also opens one read-only connection of its own (openSqliteThreadReader): reads
 * whose compiled program is provably bounded (sqlite-bounded.ts) run there, without the process hop.
 */
import Database from 'better-sqlite3';
import { SluiceError } from '../../errors.js';
import { createResponseBudget, type ResponseBudget } from '../common/response-budget.js';
import { binaryFromWire } from '../common/wire-binary.js';
import type { SqliteExecMessage, SqliteProcessOptions, SqliteStatement, SqliteStatementResult, SqliteWork } from './sqlite-protocol.js';
import { isStraightLine } from './sqlite-bounded.js';
import { duringStep } from './sqlite-errors.js';
import { createEngineWall, type EngineWall } from './sqlite-wall.js';

const STATEMENT_CACHE = 500;

interface Prepared {
  stmt: Database.Statement;
  checkedFor: string;
  /** Set on the thread's connection only: the program is straight-line (sqlite-bounded.ts). */
  bounded: boolean;
}

interface Connection {
  db: Database.Database;
  wall: EngineWall;
  cache: Map<string, Prepared>;
  schemaVersion: number;
  /** Prepared once: db.pragma() would prepare a statement on every call. */
  readSchemaVersion: Database.Statement;
  /**
   * Whether the file has `sqlite_stat4` (after ANALYZE): then SQLite may recompile a statement when
   * a bound value changes (ENABLE_STAT4), into another plan than the one classified — so no read
   * runs on the thread. Creating the table changes the schema version, which clears the cache.
   */
  hasStat4: Database.Statement;
  /** Read-write connection only: sets the connection's last insert rowid to NO_INSERT (see runResult). */
  markNoInsert: Database.Statement | undefined;
}

/**
 * What the connection's last insert rowid is set to before a `run`: SQLite keeps the rowid of the
 * connection's last successful INSERT, whoever ran it, and leaves it alone for a statement that
 * inserts nothing. A value no statement of ours produced tells "this statement inserted nothing"
 * apart from "it inserted row n" without trusting the connection's history.
 */
const NO_INSERT = -(2n ** 63n);

export interface SqliteEngine {
  exec(msg: SqliteExecMessage): SqliteStatementResult[];
  ping(): void;
  close(): void;
}

function open(file: string, opts: SqliteProcessOptions, readonly: boolean): Connection {
  const db = new Database(file, { readonly, fileMustExist: true, timeout: opts.busyTimeoutMs });
  try {
    return configure(db, readonly);
  } catch (err) {
    db.close();
    throw err;
  }
}

function configure(db: Database.Database, readonly: boolean): Connection {
  // Functions in views and triggers may not reach application-defined or risky SQL functions.
  db.pragma('trusted_schema = OFF');
  if (readonly) db.pragma('query_only = ON');
  else {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
  }
  let markNoInsert: Database.Statement | undefined;
  if (!readonly) {
    // In `temp`, which no client statement can reach (the validator and the engine wall allow `main` only).
    db.exec('CREATE TEMP TABLE sluice_internal_insert_mark (id INTEGER PRIMARY KEY)');
    markNoInsert = db.prepare('INSERT OR REPLACE INTO temp.sluice_internal_insert_mark (id) VALUES (?)');
  }
  return {
    db,
    wall: createEngineWall(db),
    cache: new Map(),
    schemaVersion: -1,
    readSchemaVersion: db.prepare('pragma schema_version').pluck(),
    hasStat4: db.prepare("select 1 from main.sqlite_schema where type = 'table' and name = 'sqlite_stat4'").pluck(),
    markNoInsert,
  };
}

/**
 * JSON gives booleans; SQLite stores them as 0/1. A Buffer arrives in its JSON form
 * (`{ type: 'Buffer', data }`, common/wire-binary.ts) and is bound as a blob; any other object is
 * refused rather than stringified.
 */
function bindable(params: unknown[]): unknown[] {
  return params.map((p) => {
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p === undefined) return null;
    if (p !== null && typeof p === 'object' && !(p instanceof Uint8Array)) {
      const binary = binaryFromWire(p);
      if (binary) return binary;
      throw new SluiceError('INVALID_INPUT', 'A parameter is an object or array; send JSON values as strings (binary values as {"type":"Buffer","data":[…]})');
    }
    return p;
  });
}

/** A rowid as JSON carries it: a number while it is exact, its digits beyond 2^53. */
function jsonInteger(v: bigint): number | string {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v.toString();
}

/** `classify`: also decide whether the program is straight-line (read from the wall's EXPLAIN). */
function prepared(conn: Connection, s: SqliteStatement, params: unknown[], readOnly: boolean, classify = false): Prepared {
  const version = conn.readSchemaVersion.get() as number;
  if (version !== conn.schemaVersion) {
    conn.cache.clear();
    conn.schemaVersion = version;
  }
  const checkedFor = `${readOnly ? 'r' : 'w'}:${s.tables?.join(',') ?? '*'}`;
  const hit = conn.cache.get(s.sql);
  if (hit && hit.checkedFor === checkedFor) {
    // Refresh its place in the (insertion-ordered) cache.
    conn.cache.delete(s.sql);
    conn.cache.set(s.sql, hit);
    return hit;
  }
  // prepare() refuses a string with more than one statement: defence in depth.
  const stmt = conn.db.prepare(s.sql);
  const program = conn.wall.check(stmt, s.sql, params, readOnly, s.tables);
  const bounded = classify && stmt.readonly && !conn.hasStat4.get() && isStraightLine(program ?? conn.wall.explain(s.sql, params));
  const entry = { stmt, checkedFor, bounded };
  conn.cache.set(s.sql, entry);
  if (conn.cache.size > STATEMENT_CACHE) conn.cache.delete(conn.cache.keys().next().value!);
  return entry;
}

/**
 * Rows until maxRows or the byte budget says stop. A read stops stepping right there. A write has
 * made all its changes in its first step (SQLite runs the DML to completion before it returns the
 * first RETURNING row); it is stepped to the end only to count its rows, which are dropped.
 */
function collect(stmt: Database.Statement, params: unknown[], maxRows: number, budget: ResponseBudget, readOnly: boolean): SqliteStatementResult {
  const rows: unknown[] = [];
  let truncated = false;
  let seen = 0;
  for (const row of stmt.iterate(...params)) {
    seen++;
    if (!truncated && rows.length < maxRows && budget.admit(row)) {
      rows.push(row);
      continue;
    }
    truncated = true;
    if (readOnly) break;
  }
  return { rows, rowCount: readOnly ? rows.length : seen, truncated };
}

/**
 * `run`: Drizzle's sqlite-proxy expects better-sqlite3's run result. `changes` is better-sqlite3's
 * own (it compares total_changes around the step, so a statement that changed nothing says 0).
 * `lastInsertRowid` is the rowid this statement inserted, or null: the connection's value is set to
 * NO_INSERT first, so another tenant's earlier INSERT on this shared connection can never show.
 */
function runResult(conn: Connection, stmt: Database.Statement, params: unknown[]): SqliteStatementResult {
  let changes: number;
  let lastInsertRowid: number | string | null = null;
  if (conn.markNoInsert) {
    conn.markNoInsert.run(NO_INSERT);
    stmt.safeIntegers(true);
    try {
      const r = stmt.run(...params);
      changes = r.changes;
      if (r.lastInsertRowid !== NO_INSERT) lastInsertRowid = jsonInteger(BigInt(r.lastInsertRowid));
    } finally {
      stmt.safeIntegers(false);
    }
  } else {
    // The read-only connection: nothing can have been inserted.
    changes = stmt.run(...params).changes;
  }
  return { rows: [{ changes, lastInsertRowid }], rowCount: changes, truncated: false };
}

/** Shapes as Drizzle's sqlite-proxy expects them (all/values: row arrays, get: one flat row, run: the run result). */
function runOne(conn: Connection, stmt: Database.Statement, s: SqliteStatement, params: unknown[], maxRows: number, budget: ResponseBudget, readOnly: boolean): SqliteStatementResult {
  // `run` answers no rows, so the byte cap has nothing to cut.
  if (s.method === 'run') return runResult(conn, stmt, params);
  // A read batch the byte cap already stopped: the rest does not run.
  if (readOnly && budget.exhausted) return { rows: [], rowCount: 0, truncated: true };
  if (!stmt.reader) return { rows: [], rowCount: stmt.run(...params).changes, truncated: false };
  stmt.raw(s.method !== 'execute');
  if (s.method === 'get') {
    const row = stmt.get(...params) as unknown[] | undefined;
    if (row === undefined) return { rows: [], rowCount: 0, truncated: false };
    if (!budget.admit(row)) return { rows: [], rowCount: readOnly ? 0 : 1, truncated: true };
    return { rows: row, rowCount: 1, truncated: false };
  }
  return collect(stmt, params, maxRows, budget, readOnly);
}

/** Steps prepared, checked statements in order, in whatever transaction the caller opened. */
function steps(conn: Connection, msg: SqliteWork, params: unknown[][], stmts: Database.Statement[]): SqliteStatementResult[] {
  const budget = createResponseBudget(msg.maxResponseBytes);
  try {
    return stmts.map((stmt, i) => runOne(conn, stmt, msg.statements[i]!, params[i]!, msg.maxRows, budget, msg.readOnly));
  } catch (err) {
    // Row-dependent unless its code says otherwise (sqlite-errors.ts): prepare() is behind us.
    throw duringStep(err);
  }
}

/** Runs prepared, checked statements: a write (or batch) in one immediate transaction, reads as above. */
function runAll(conn: Connection, msg: SqliteWork, params: unknown[][], stmts: Database.Statement[]): SqliteStatementResult[] {
  const run = (): SqliteStatementResult[] => steps(conn, msg, params, stmts);
  if (msg.readOnly) return stmts.length === 1 ? run() : conn.db.transaction(run).deferred();
  return conn.db.transaction(run).immediate();
}

export function openSqliteEngine(opts: SqliteProcessOptions): SqliteEngine {
  // Read-write first: it switches the file to WAL, which the read-only connection relies on.
  const rw = open(opts.file, opts, false);
  const ro = open(opts.file, opts, true);
  return {
    exec(msg) {
      const conn = msg.readOnly ? ro : rw;
      // Everything is compiled and checked before anything runs.
      const params = msg.statements.map((s) => bindable(s.params));
      const stmts = msg.statements.map((s, i) => prepared(conn, s, params[i]!, msg.readOnly).stmt);
      return runAll(conn, msg, params, stmts);
    },
    ping() {
      ro.db.prepare('select 1').get();
    },
    close() {
      ro.db.close();
      rw.db.close();
    },
  };
}

export interface SqliteThreadReader {
  /**
   * Runs `msg` on the worker thread when it is a read and every statement's program is
   * straight-line; undefined when it must go to the SQLite process instead (not a read, not
   * bounded, or the file is busy: this connection never waits for a lock, the process does, under
   * its deadline). Throws what the process would answer for a refused or failing statement.
   */
  tryExec(msg: SqliteWork): SqliteStatementResult[] | undefined;
  close(): void;
}

/** Lock waits and memory exhaustion: the process, with its busy timeout and deadline, retries the read. */
const FOR_THE_PROCESS = /^SQLITE_(BUSY|LOCKED|NOMEM)/;

/**
 * The worker thread's own read-only connection (the same settings as the process's, but no busy
 * timeout), opened on first use: after the process has opened the file (that switches it to WAL).
 */
export function createSqliteThreadReader(opts: SqliteProcessOptions): SqliteThreadReader {
  let conn: Connection | undefined;
  return {
    tryExec(msg) {
      if (!msg.readOnly) return undefined;
      try {
        const c = (conn ??= open(opts.file, { ...opts, busyTimeoutMs: 0 }, true));
        const params = msg.statements.map((s) => bindable(s.params));
        // One snapshot from the schema check to the last step: a schema change committed in
        // between (which would make SQLite recompile a statement, maybe into a loop) cannot show.
        return c.db.transaction(() => {
          const entries = msg.statements.map((s, i) => prepared(c, s, params[i]!, true, true));
          if (!entries.every((e) => e.bounded)) return undefined;
          return steps(c, msg, params, entries.map((e) => e.stmt));
        }).deferred();
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (typeof code === 'string' && FOR_THE_PROCESS.test(code)) return undefined;
        throw err;
      }
    },
    close() {
      conn?.db.close();
      conn = undefined;
    },
  };
}
