/**
 * What runs inside the SQLite process: two better-sqlite3 connections to the file (read-write for
 * writes, read-only for reads, so a read that somehow writes fails in SQLite itself), each with a
 * bounded cache of prepared statements that already passed the engine wall.
 *
 * Writes run in `BEGIN IMMEDIATE … COMMIT` (all statements of a batch in one transaction); a single
 * read runs as one atomic statement, several reads in one deferred transaction (one snapshot).
 */
import Database from 'better-sqlite3';
import { SluiceError } from '../../errors.js';
import type { SqliteExecMessage, SqliteProcessOptions, SqliteStatement, SqliteStatementResult } from './sqlite-protocol.js';
import { createEngineWall, type EngineWall } from './sqlite-wall.js';

const STATEMENT_CACHE = 500;

interface Connection {
  db: Database.Database;
  wall: EngineWall;
  cache: Map<string, { stmt: Database.Statement; checkedFor: string }>;
  schemaVersion: number;
  /** Prepared once: db.pragma() would prepare a statement on every call. */
  readSchemaVersion: Database.Statement;
}

export interface SqliteEngine {
  exec(msg: SqliteExecMessage): SqliteStatementResult[];
  ping(): void;
  close(): void;
}

function open(file: string, opts: SqliteProcessOptions, readonly: boolean): Connection {
  const db = new Database(file, { readonly, fileMustExist: true, timeout: opts.busyTimeoutMs });
  // Functions in views and triggers may not reach application-defined or risky SQL functions.
  db.pragma('trusted_schema = OFF');
  if (readonly) db.pragma('query_only = ON');
  else {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
  }
  return { db, wall: createEngineWall(db), cache: new Map(), schemaVersion: -1, readSchemaVersion: db.prepare('pragma schema_version').pluck() };
}

/** JSON gives booleans; SQLite stores them as 0/1. Objects are refused rather than stringified. */
function bindable(params: unknown[]): unknown[] {
  return params.map((p) => {
    if (typeof p === 'boolean') return p ? 1 : 0;
    if (p === undefined) return null;
    if (p !== null && typeof p === 'object' && !(p instanceof Uint8Array)) {
      throw new SluiceError('INVALID_INPUT', 'A parameter is an object or array; send JSON values as strings');
    }
    return p;
  });
}

function prepared(conn: Connection, s: SqliteStatement, params: unknown[], readOnly: boolean): Database.Statement {
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
    return hit.stmt;
  }
  // prepare() refuses a string with more than one statement: defence in depth.
  const stmt = conn.db.prepare(s.sql);
  conn.wall.check(stmt, s.sql, params, readOnly, s.tables);
  conn.cache.set(s.sql, { stmt, checkedFor });
  if (conn.cache.size > STATEMENT_CACHE) conn.cache.delete(conn.cache.keys().next().value!);
  return stmt;
}

function collect(stmt: Database.Statement, params: unknown[], maxRows: number): SqliteStatementResult {
  const rows: unknown[] = [];
  let truncated = false;
  for (const row of stmt.iterate(...params)) {
    if (rows.length === maxRows) {
      truncated = true;
      break;
    }
    rows.push(row);
  }
  return { rows, rowCount: rows.length, truncated };
}

/** Shapes as Drizzle's sqlite-proxy expects them (all/values: row arrays, get: one flat row). */
function runOne(stmt: Database.Statement, s: SqliteStatement, params: unknown[], maxRows: number): SqliteStatementResult {
  if (s.method === 'run' || !stmt.reader) {
    const r = stmt.run(...params);
    if (s.method !== 'run') return { rows: [], rowCount: r.changes, truncated: false };
    return { rows: [{ changes: r.changes, lastInsertRowid: Number(r.lastInsertRowid) }], rowCount: r.changes, truncated: false };
  }
  stmt.raw(s.method !== 'execute');
  if (s.method === 'get') {
    const row = stmt.get(...params) as unknown[] | undefined;
    return { rows: row ?? [], rowCount: row === undefined ? 0 : 1, truncated: false };
  }
  return collect(stmt, params, maxRows);
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
      const stmts = msg.statements.map((s, i) => prepared(conn, s, params[i]!, msg.readOnly));
      const run = (): SqliteStatementResult[] => stmts.map((stmt, i) => runOne(stmt, msg.statements[i]!, params[i]!, msg.maxRows));
      if (msg.readOnly) return stmts.length === 1 ? run() : conn.db.transaction(run).deferred();
      return conn.db.transaction(run).immediate();
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
