/**
 * The one place Postgres errors become sluice errors. Messages are rebuilt from the SQLSTATE and,
 * where it names only schema objects, the constraint or column: the database's `detail` (and often
 * its `message`) carries row values — a unique violation's detail names another tenant's key — so
 * neither is ever passed through. The raw error goes to the log only.
 */
import pg from 'pg';
import { SluiceError, type ErrorCode } from '../../errors.js';
import { refusedReference } from '../../sql/reference-marker.js';

/** Seconds a client should wait before retrying when the database is unreachable. */
const UNAVAILABLE_RETRY_AFTER = 2;

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
const SOCKET_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Connection ended unexpectedly',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
];

/** Fixed texts for data exceptions: pg's own messages quote the offending value. */
const DATA_EXCEPTION_MESSAGES: Record<string, string> = {
  '22001': 'A value is too long for its column type',
  '22003': 'A numeric value is out of range',
  '22007': 'A date/time value has an invalid format',
  '22008': 'A date/time value is out of range',
  '22012': 'Division by zero',
  '22023': 'A parameter value is invalid',
  '22P02': 'A value has invalid syntax for its type',
  '22P05': 'A character cannot be converted to the database encoding',
};

/** Schema-level messages name identifiers from the caller's own SQL, never row values. */
const SCHEMA_MESSAGE = /^(column|relation|function|operator|type|schema) [^\n]{1,200}$/;

/**
 * SQLSTATEs raised before any row is read (syntax, names, privileges, the transaction's mode),
 * by the connection or the server (connection loss, cancel and statement_timeout, shutdown, too
 * many connections), or by the rows a write actually writes (class 23: the fast and the fenced
 * form write the same rows). Everything else — data exceptions (22), cardinality (21), program
 * limits (54: an array bound or a stack depth reached on a value), out of memory, routine and
 * trigger errors (2F, 38, 39, P0), internal errors, classes not listed — may depend on which rows
 * were evaluated, possibly another tenant's before the row filter removed them (fail closed).
 */
const ROW_INDEPENDENT_CLASSES = new Set(['08', '23', '25', '28', '3D', '3F', '40', '42', '57']);
const ROW_INDEPENDENT_STATES = new Set(['53300', '53400', '55P03']);
/** Classes raised by a function or trigger (PL/pgSQL RAISE, SQL routines, external routines): a 4xx. */
const ROUTINE_CLASSES = new Set(['09', '20', '27', '2F', '38', '39', 'P0']);

/**
 * A context line Postgres adds while a statement waits for a row lock (lmgr.c's
 * XactLockTableWaitErrorCb: "while updating tuple (0,1) in relation \"customers\""): a cancel or
 * a terminated session during that wait says where it waited, not that a function raised it.
 */
const LOCK_WAIT_CONTEXT = /^while [a-z ]{1,60} tuple \(\d+,\d+\)(?: in relation "[^"\n]{1,200}")?$/;

/** `where` holds only lock-wait lines (each context frame is one line). */
function onlyLockWaits(where: string): boolean {
  return where.split('\n').every((line) => LOCK_WAIT_CONTEXT.test(line));
}

/**
 * Whether the error's occurrence can depend on the rows the statement evaluated (see
 * SluiceError.rowDependent). An error raised inside a function (`where` names it) counts whatever
 * its SQLSTATE, because a function may raise any SQLSTATE it likes — 42P01 or 08006 included. Any
 * context other than a row-lock wait counts as such (fail closed): re-running a statement that was
 * cancelled or cut off while it waited for a lock would only wait for the lock again.
 */
export function mayDependOnRows(err: pg.DatabaseError): boolean {
  const sqlstate = err.code ?? '';
  if (err.where !== undefined && err.where !== '' && !onlyLockWaits(err.where)) return true;
  return !(ROW_INDEPENDENT_CLASSES.has(sqlstate.slice(0, 2)) || ROW_INDEPENDENT_STATES.has(sqlstate));
}

export interface PgErrorContext {
  /** The statement was cancelled because the client went away (not by statement_timeout). */
  clientCancelled?: boolean;
  /** A cancel arrived before statement_timeout could have fired: someone else cancelled it. */
  cancelledEarly?: boolean;
}

function quoted(name: string | undefined): string {
  return name && /^[\w$.-]{1,128}$/.test(name) ? ` "${name}"` : '';
}

export function isConnectionError(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) {
    const c = err.code ?? '';
    return c.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(c);
  }
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (code !== undefined && SOCKET_CODES.has(code)) || SOCKET_MESSAGES.some((m) => err.message.includes(m));
}

function db(code: ErrorCode, sqlstate: string, message?: string): SluiceError {
  return new SluiceError(code, message, { sqlstate });
}

function unavailable(sqlstate: string, message?: string): SluiceError {
  return new SluiceError('DATABASE_UNAVAILABLE', message, { sqlstate, retryAfter: UNAVAILABLE_RETRY_AFTER });
}

function fromSqlstate(err: pg.DatabaseError, sqlstate: string, ctx: PgErrorContext): SluiceError | null {
  switch (sqlstate) {
    case '23505':
      return db('UNIQUE_VIOLATION', sqlstate, err.constraint ? `unique constraint${quoted(err.constraint)} violated` : undefined);
    case '23503':
      return db('FOREIGN_KEY_VIOLATION', sqlstate, err.constraint ? `foreign key constraint${quoted(err.constraint)} violated` : undefined);
    case '23502':
      return db('NOT_NULL_VIOLATION', sqlstate, err.column ? `column${quoted(err.column)} must not be null` : undefined);
    case '23514':
      return db('CHECK_VIOLATION', sqlstate, err.constraint ? `check constraint${quoted(err.constraint)} violated` : undefined);
    case '42703':
      return db('UNDEFINED_COLUMN', sqlstate, SCHEMA_MESSAGE.test(err.message) ? err.message : undefined);
    case '42P01':
    case '42883':
    case '42704':
      return db('UNDEFINED_OBJECT', sqlstate, SCHEMA_MESSAGE.test(err.message) ? err.message : undefined);
    case '42501':
      return db('DATABASE_PERMISSION_DENIED', sqlstate);
    case '40001':
    case '40P01':
    case '55P03':
      return db('SERIALIZATION_FAILURE', sqlstate);
    case '57014':
      if (ctx.clientCancelled) return db('CLIENT_CLOSED', sqlstate);
      // An operator's pg_cancel_backend (or a session killer): the statement did not time out.
      if (ctx.cancelledEarly) return unavailable(sqlstate, 'The database cancelled the statement (an operator or another session); retry later');
      return db('QUERY_TIMEOUT', sqlstate);
    case '25006':
      return db('STATEMENT_NOT_ALLOWED', sqlstate, 'The statement writes, but the transaction is read-only');
    case '21000':
      // Data-dependent like class 22: the worker treats both alike (see fallbackSql).
      return db('INVALID_INPUT', sqlstate, 'A subquery used as an expression returned more than one row');
  }
  const cls = sqlstate.slice(0, 2);
  // A reference check's refusal (sql/postgres/reference-check.ts): the same answer whether the
  // referenced row is missing or another tenant's.
  const reference = sqlstate === '22P02' ? refusedReference(err.message) : null;
  if (reference !== null) return db('FOREIGN_KEY_VIOLATION', sqlstate, `${reference}: the referenced row does not exist or is not visible to the caller`);
  if (cls === '22') return db('INVALID_INPUT', sqlstate, DATA_EXCEPTION_MESSAGES[sqlstate]);
  if (ROUTINE_CLASSES.has(cls)) return db('ROUTINE_ERROR', sqlstate);
  if (cls === '44') return db('CHECK_VIOLATION', sqlstate, 'A view\'s WITH CHECK OPTION rejected the row');
  if (cls === '42' || cls === '0A' || cls === '54') return db('INVALID_SQL', sqlstate);
  if (cls === '08' || cls === '53' || ['57P01', '57P02', '57P03'].includes(sqlstate)) return unavailable(sqlstate);
  // The gateway's own login was refused (password, pg_hba) or its database is gone: the database
  // cannot be used until an operator fixes it, nothing the client sent (raw error logged).
  if (cls === '28' || sqlstate === '3D000') return unavailable(sqlstate);
  return null;
}

/**
 * A stable, sanitized SluiceError for anything the pg driver threw. `logRaw` is called for errors
 * that become INTERNAL_ERROR or DATABASE_UNAVAILABLE, so operators see the real cause.
 */
export function mapPgError(err: unknown, ctx: PgErrorContext = {}, logRaw?: (err: unknown) => void): SluiceError {
  if (err instanceof SluiceError) return err;
  if (err instanceof pg.DatabaseError && err.code) {
    const mapped = fromSqlstate(err, err.code, ctx) ?? new SluiceError('INTERNAL_ERROR', undefined, { sqlstate: err.code });
    if (mapped.code === 'DATABASE_UNAVAILABLE' || mapped.code === 'INTERNAL_ERROR') logRaw?.(err);
    return mayDependOnRows(err) ? mapped.asRowDependent() : mapped;
  }
  logRaw?.(err);
  if (isConnectionError(err)) return new SluiceError('DATABASE_UNAVAILABLE', undefined, { retryAfter: UNAVAILABLE_RETRY_AFTER });
  return new SluiceError('INTERNAL_ERROR');
}
