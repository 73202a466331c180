/**
 * One statement (or one batch), one transaction, on one leased connection. Round trips per lease:
 *   1. `SET SESSION sql_mode = …, time_zone = '+00:00', <time limit>, @sluice_tenant_id = …,
 *      @sluice_claims = …` — the tenant context as session variables that views or functions
 *      can read (a second wall for teams that isolate tenants with views). Claim values travel as
 *      hex literals, never through string escaping, and the session's sql_mode is pinned (no
 *      ANSI_QUOTES, no NO_BACKSLASH_ESCAPES) before any client value is escaped by mysql2.
 *   2. `START TRANSACTION [READ ONLY]` — a batch only. A lone statement is its own autocommit
 *      transaction: for a read the SET of step 1 also makes the session read-only, for a write it
 *      pins autocommit on (the reset of step 5 restores both).
 *   3. the statement(s)
 *   4. `COMMIT` (a batch of writes only: a read-only transaction is simply rolled back by step 5)
 *   5. on release, COM_RESET_CONNECTION (mysql2 `reset()`): user variables, session variables,
 *      an open transaction, temporary tables and prepared statements are all dropped by the
 *      server. A connection whose reset fails is destroyed, never reused. The answer does not wait
 *      for it (mysql-driver.ts): the connection, and its slot, go back only once it is done.
 * A lone statement so answers after 2 round trips (a read or a write), where it took 3 (a read)
 * or 5 (a write) before.
 *
 * A connection with `contextVariables: false` sets no @sluice_* variables. On MariaDB, once its
 * session has been reset, a lone statement there skips step 1: `SET STATEMENT <the same settings>
 * FOR <statement>` carries them in the statement's own round trip (statementScopedSql), so it
 * answers after one round trip and holds the connection for two (with the reset).
 */
import type mysql from 'mysql2/promise';
import type { FieldPacket, Query, QueryOptions, QueryValues } from 'mysql2';
import type { ExecuteRequest, FieldInfo, StatementResult } from '../driver.js';
import type { UpsertShape } from '../../sql/validator.js';
import { SluiceError } from '../../errors.js';
import { createResponseBudget, type ResponseBudget } from '../common/response-budget.js';
import { binaryFromWire } from '../common/wire-binary.js';
import { resolveClaim } from '../../permissions/claims.js';
import type { MysqlFlavor } from './mysql-flavor.js';

/** Known modes only: the validator parses with these semantics (`"x"` is a string, `||` is OR). */
export const SQL_MODE = 'STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

export interface LeaseState {
  /** Set by cancel(): stop before the next step and report CLIENT_CLOSED. */
  cancelled: boolean;
}

export interface LeaseStatement {
  sql: string;
  params: unknown[];
  method: ExecuteRequest['method'];
  /** ExecuteRequest.upsert: its insert id is not taken from the OK packet as it stands (upsertInsertId). */
  upsert?: UpsertShape;
}

function checkCancelled(state: LeaseState): void {
  if (state.cancelled) throw new SluiceError('CLIENT_CLOSED');
}

/** A SQL literal that cannot be broken by any escaping mode: numbers as digits, text as hex. */
export function sqlLiteral(value: unknown): string {
  if (value === undefined || value === null) return 'NULL';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `CONVERT(X'${Buffer.from(text, 'utf8').toString('hex')}' USING utf8mb4)`;
}

/**
 * The value of @sluice_tenant_id: read with the one claim lookup before any connection is leased,
 * so a token it cannot be read from unambiguously never reaches the pool.
 */
export function tenantOf(claims: Record<string, unknown>, tenantClaim: string): unknown {
  try {
    return resolveClaim(claims, tenantClaim);
  } catch (e) {
    // No tenant claim: the variable is NULL, and views keyed on it show nothing. An ambiguous one
    // is refused like everywhere else.
    if (e instanceof SluiceError && e.code === 'CLAIM_MISSING') return null;
    throw e;
  }
}

/**
 * How a lease's statements are made one transaction: `explicit` (START TRANSACTION … COMMIT, a
 * batch), or one autocommit statement — `read` (the session is made read-only for it) or `write`
 * (autocommit is pinned on, whatever the server's default, so the statement commits by itself).
 */
export type LeaseMode = 'explicit' | 'read' | 'write';

export function contextSql(claims: Record<string, unknown>, tenantId: unknown, timeoutMs: number, flavor: MysqlFlavor, m: LeaseMode, variables = true): string {
  return (
    `SET SESSION sql_mode = '${SQL_MODE}', SESSION time_zone = '+00:00', ${flavor.timeoutAssignment(timeoutMs)}` +
    (m === 'read' ? `, ${flavor.readOnlyAssignment}` : m === 'write' ? ', SESSION autocommit = 1' : '') +
    (variables ? `, @sluice_tenant_id = ${sqlLiteral(tenantId)}, @sluice_claims = ${sqlLiteral(claims)}` : '')
  );
}

/**
 * sql_mode flags that change how a statement is executed but not how its text is parsed. The text
 * of a `SET STATEMENT sql_mode = … FOR <statement>` is parsed under the session's sql_mode, before
 * the statement's own applies: a session with ANSI_QUOTES, NO_BACKSLASH_ESCAPES (mysql2 escapes
 * with backslashes), PIPES_AS_CONCAT, IGNORE_SPACE, EMPTY_STRING_IS_NULL, REAL_AS_FLOAT, ORACLE …
 * would read it otherwise than the validator did. Anything not listed counts as parse-changing.
 */
const PARSE_NEUTRAL_MODES = new Set([
  'STRICT_TRANS_TABLES', 'STRICT_ALL_TABLES', 'NO_ZERO_IN_DATE', 'NO_ZERO_DATE', 'ERROR_FOR_DIVISION_BY_ZERO',
  'NO_AUTO_CREATE_USER', 'NO_ENGINE_SUBSTITUTION', 'ONLY_FULL_GROUP_BY', 'TRADITIONAL', 'NO_AUTO_VALUE_ON_ZERO',
]);

/** Whether statement text is parsed alike under this sql_mode and under SQL_MODE. */
export function parseNeutral(sqlMode: string): boolean {
  return sqlMode === '' || sqlMode.split(',').every((m) => PARSE_NEUTRAL_MODES.has(m));
}

/** The invalid sql_mode a statement-scoped read sets when the session's mode is not the expected one. */
const MODE_CHANGED = 'SLUICE_SESSION_SQL_MODE_CHANGED';

/**
 * A lone statement in one round trip (MariaDB): the settings of the context step, scoped to the
 * statement. The session's own sql_mode (the one the text is parsed under) must be `sessionMode`, a
 * parse-neutral mode the driver read from the server, and its autocommit on (SET STATEMENT cannot
 * set it; a write must commit by itself): both are compared when the server evaluates the SET
 * STATEMENT assignments, before the statement runs, and a session in any other state gets an
 * invalid sql_mode (error 1231 naming MODE_CHANGED) instead — the statement never runs. The guard
 * is the first text of the packet, so nothing after it (client values included) changes how it reads.
 */
export function statementScopedSql(sql: string, sessionMode: string, timeoutMs: number, settings: NonNullable<MysqlFlavor['statementSettings']>, readOnly: boolean): string {
  if (!parseNeutral(sessionMode)) throw new Error(`sql_mode ${sessionMode} is not parse-neutral`);
  return (
    `SET STATEMENT sql_mode = CASE WHEN @@session.sql_mode = '${sessionMode}' AND @@session.autocommit = 1 THEN '${SQL_MODE}' ELSE '${MODE_CHANGED}' END, ` +
    `time_zone = '+00:00', ${settings.timeout(timeoutMs)}${readOnly ? `, ${settings.readOnly}` : ''} FOR ${sql}`
  );
}

/** The error of a statement-scoped statement whose session was not in the expected state (it did not run). */
export function isModeChanged(err: unknown): boolean {
  const e = err as { errno?: unknown; message?: unknown };
  return e.errno === 1231 && typeof e.message === 'string' && e.message.includes(MODE_CHANGED);
}

/** What JSON.stringify makes of a Date: Drizzle's mysql-proxy callback sends a Date parameter so. */
const JSON_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A parameter as mysql2 would send the value the client's Drizzle had: a Date (which reached us as
 * its JSON text, refused by DATE/DATETIME columns in strict mode) in mysql2's format, in UTC as the
 * session's time_zone is; a Buffer (as `{ type: 'Buffer', data }`) as binary. Any other object or
 * array is refused: mysql2 would expand it into a `key = value` list or a value list.
 */
function bindable(p: unknown): unknown {
  if (typeof p === 'string' && JSON_DATE.test(p)) {
    const d = new Date(p);
    if (!Number.isNaN(d.getTime()) && d.toISOString() === p) return p.slice(0, 23).replace('T', ' ');
  }
  if (p !== null && typeof p === 'object' && !Buffer.isBuffer(p)) {
    const binary = binaryFromWire(p);
    if (binary) return binary;
    throw new SluiceError('INVALID_INPUT', 'A parameter is an object or array; send JSON values as strings (binary values as {"type":"Buffer","data":[…]})');
  }
  return p;
}

/** An OK packet as mysql2 parses it; insertId is a string beyond 2^53 (supportBigNumbers). */
interface ResultHeader {
  affectedRows: number;
  insertId: number | string;
  changedRows: number;
}

export interface StatementOutcome extends StatementResult {
  /** Rows the statement produced, kept or dropped (a write's RETURNING count). */
  seen: number;
}

/**
 * Where a read that outgrew the response cap is stopped: the driver's KILL QUERY. A write is never
 * stopped half-way, so it gets none.
 */
export type StopStatement = () => void;

/** mysql2's column description, minus the database, table and column names behind the result. */
function fieldInfo(f: FieldPacket): FieldInfo {
  return { name: f.name, columnType: f.columnType, type: f.type, columnLength: f.columnLength, decimals: f.decimals, flags: f.flags, characterSet: f.characterSet };
}

/**
 * One statement, its rows taken as they arrive (mysql2's row events) against the response budget,
 * so a result is never buffered whole. A read whose row does not fit is stopped (`stop`); the error
 * the stopped statement then ends with is the expected end of it, not a failure.
 *
 * Shapes as Drizzle's mysql-proxy (that is, mysql2) has them: `all` → positional row arrays;
 * `execute` → for a write `[{ insertId, affectedRows, changedRows }]` (Drizzle reads
 * rows[0].insertId for $returningId()), for a statement that returned rows the row objects plus
 * `fields` (the edge answers `[rows, fields]`).
 */
/** The parts of mysql2's callback connection a streamed statement uses. */
interface StreamingConnection {
  query(options: QueryOptions): Query;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  off(event: 'error', listener: (err: unknown) => void): unknown;
}

/**
 * The callback connection under mysql2's promise wrapper (`.connection`), whose query() streams
 * rows as events; mysql2's typings call that property a promise Connection, which it is not.
 */
function streaming(c: mysql.PoolConnection): StreamingConnection {
  return (c as unknown as { connection: StreamingConnection }).connection;
}

function runStatement(c: mysql.PoolConnection, s: LeaseStatement, budget: ResponseBudget, stop: StopStatement | null): Promise<{ header?: ResultHeader; outcome: StatementOutcome }> {
  return new Promise((resolve, reject) => {
    const conn = streaming(c);
    const query = conn.query({ sql: s.sql, values: s.params.map(bindable) as QueryValues, rowsAsArray: s.method === 'all' });
    const rows: unknown[] = [];
    let fields: FieldInfo[] | undefined;
    let header: ResultHeader | undefined;
    // mysql2 announces every result with 'fields': an array before rows, undefined before an OK packet.
    let nextIsHeader = false;
    let seen = 0;
    let truncated = false;
    let stopped = false;
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      conn.off('error', fail);
      const outcome: StatementOutcome = { rows, rowCount: header ? header.affectedRows : stop ? rows.length : seen, truncated, seen };
      if (fields !== undefined && s.method === 'execute') outcome.fields = fields;
      resolve(header ? { header, outcome } : { outcome });
    };
    query.on('fields', (f: FieldPacket[] | undefined) => {
      nextIsHeader = f === undefined;
      if (f !== undefined) fields = f.map(fieldInfo);
    });
    query.on('result', (r: unknown) => {
      if (nextIsHeader) {
        header = r as ResultHeader;
        return;
      }
      seen++;
      if (!truncated && budget.admit(r)) {
        rows.push(r);
        return;
      }
      truncated = true;
      if (stop && !stopped) {
        stopped = true;
        stop();
      }
    });
    function fail(err: unknown): void {
      if (settled) return;
      if (stopped) done();
      else {
        settled = true;
        conn.off('error', fail);
        reject(err);
      }
    }
    query.on('error', fail);
    // A lost connection is reported to a streaming query's connection only, never to the query.
    conn.on('error', fail);
    query.on('end', done);
  });
}

export interface LeaseContext {
  claims: Record<string, unknown>;
  tenantId: unknown;
  timeoutMs: number;
  readOnly: boolean;
  flavor: MysqlFlavor;
  maxResponseBytes: number;
  /** Whether the context step sets @sluice_tenant_id and @sluice_claims (the connection's contextVariables). */
  variables: boolean;
  /**
   * The parse-neutral sql_mode this session is expected to be in (the server's global one, after
   * COM_RESET_CONNECTION), when a lone statement may go in one round trip (statementScopedSql);
   * null: the context step first.
   */
  sessionMode: string | null;
  /** The session was not in sessionMode (or autocommit was off): the statement ran after the context step instead. */
  onModeChanged(): void;
}

export async function runLease(c: mysql.PoolConnection, statements: LeaseStatement[], ctx: LeaseContext, state: LeaseState, stopRead: StopStatement): Promise<StatementOutcome[]> {
  checkCancelled(state);
  // A lone statement needs no explicit transaction: it is one by itself (autocommit), a failed or
  // killed one is rolled back by the server. A batch keeps one, for one snapshot and all-or-nothing.
  const mode: LeaseMode = statements.length > 1 ? 'explicit' : ctx.readOnly ? 'read' : 'write';
  const scoped = ctx.flavor.statementSettings;
  if (mode !== 'explicit' && scoped && !ctx.variables && ctx.sessionMode !== null) {
    // No session variables to set: the context step's settings go with the statement itself.
    const s = statements[0]!;
    try {
      const sql = statementScopedSql(s.sql, ctx.sessionMode, ctx.timeoutMs, scoped, ctx.readOnly);
      return [await leaseStatement(c, { ...s, sql }, 0, createResponseBudget(ctx.maxResponseBytes), ctx, stopRead)];
    } catch (err) {
      if (!isModeChanged(err)) throw err;
      ctx.onModeChanged();
      checkCancelled(state);
    }
  }
  await c.query(contextSql(ctx.claims, ctx.tenantId, ctx.timeoutMs, ctx.flavor, mode, ctx.variables));
  if (mode === 'explicit') await c.query(ctx.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION');
  const budget = createResponseBudget(ctx.maxResponseBytes);
  const out: StatementOutcome[] = [];
  for (const [i, s] of statements.entries()) {
    checkCancelled(state);
    if (ctx.readOnly && budget.exhausted) {
      // A read batch the byte cap stopped (its statement was killed): the rest does not run.
      out.push({ rows: [], rowCount: 0, truncated: true, seen: 0 });
      continue;
    }
    out.push(await leaseStatement(c, s, i, budget, ctx, stopRead));
  }
  if (mode === 'explicit' && !ctx.readOnly) await c.query('COMMIT');
  return out;
}

/** The i-th statement of a lease, its write metadata taken from the OK packet. */
async function leaseStatement(c: mysql.PoolConnection, s: LeaseStatement, i: number, budget: ResponseBudget, ctx: LeaseContext, stopRead: StopStatement): Promise<StatementOutcome> {
  // The session's LAST_INSERT_ID() is 0 at the start of a lease (a fresh connection, or
  // COM_RESET_CONNECTION on the last release; the validator refuses the function itself), so
  // after an earlier statement of this lease it must be zeroed for an upsert to read its own.
  if (s.upsert && i > 0) await c.query('SELECT LAST_INSERT_ID(0)');
  const { header, outcome } = await runStatement(c, s, budget, ctx.readOnly ? stopRead : null);
  if (header) {
    const insertId = s.upsert ? await upsertInsertId(c, s.upsert, header) : header.insertId;
    if (s.method === 'execute') outcome.rows = [{ insertId, affectedRows: header.affectedRows, changedRows: header.changedRows }];
  }
  return outcome;
}

/**
 * An upsert's OK packet names the last row it touched — possibly another tenant's row it collided
 * with and left alone (the tenant guard in ON DUPLICATE KEY UPDATE). Reported instead: an id the
 * statement generated (LAST_INSERT_ID()); else, for a single row that was updated (affected rows 2:
 * its values changed, so it passed the guard — the caller's own row), that row's id as mysql2 gives
 * it; else 0. A single row left as it was (affected rows 0, or 1 with FOUND_ROWS) may be another
 * tenant's, so its id is never reported.
 */
async function upsertInsertId(c: mysql.PoolConnection, shape: UpsertShape, header: ResultHeader): Promise<number | string> {
  const generated = await generatedId(c);
  if (Number(generated) !== 0) return generated;
  return shape === 'one-row' && header.affectedRows === 2 ? header.insertId : 0;
}

async function generatedId(c: mysql.PoolConnection): Promise<number | string> {
  const [rows] = await c.query({ sql: 'SELECT LAST_INSERT_ID() AS id', rowsAsArray: true });
  return (rows as unknown[][])[0]![0] as number | string;
}
