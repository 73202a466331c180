/**
 * The one place MySQL/MariaDB errors become sluice errors. Messages are rebuilt from the error
 * number and, where it names only schema objects, the key, column or table: the server's own text
 * often carries row values — a duplicate-key message quotes the other row's key ("Duplicate entry
 * 'bob@two.example' for key …"), possibly another tenant's — so it is never passed through.
 * The raw error goes to the log only.
 */
import { SluiceError, type ErrorCode } from '../../errors.js';

const UNAVAILABLE_RETRY_AFTER = 2;

const SOCKET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'POOL_CLOSED', 'POOL_CONNECTION_LOST',
]);
/** Server errors that mean "cannot serve you now", not "your statement is wrong". */
const UNAVAILABLE_ERRNOS = new Set([1040, 1045, 1049, 1053, 1077, 1081, 1129, 1130, 1152, 1153, 1158, 1159, 1160, 1161, 1184, 1203, 1927, 2002, 2003, 2006, 2013]);

const DATA_MESSAGES: Record<number, string> = {
  1264: 'A numeric value is out of range',
  1690: 'A numeric value is out of range',
  1406: 'A value is too long for its column type',
  1366: 'A value has invalid syntax for its type',
  1292: 'A value has invalid syntax for its type',
  1411: 'A date/time value has an invalid format',
  1365: 'Division by zero',
  3140: 'A JSON value is invalid',
  4038: 'A JSON value is invalid',
  1242: 'A subquery used as an expression returned more than one row',
  1958: 'A value is not valid base64',
  // A regular expression can come from row data (regexp_replace(col, other_col)): data-dependent,
  // although MySQL files it under sqlstate 42000.
  1139: 'A regular expression is invalid',
  3141: 'A JSON value is invalid',
  3143: 'A JSON path is invalid',
  3146: 'A JSON value has the wrong type',
  4024: 'A window function argument is invalid', // MariaDB ER_INVALID_NTILE_ARGUMENT
  1210: 'A function argument is invalid', // ER_WRONG_ARGUMENTS
};
/** MariaDB's JSON syntax/path errors (ER_JSON_BAD_CHR … ER_JSON_ONE_OR_ALL) and MySQL 8's ICU regexp errors. */
const DATA_ERRNO_RANGES: readonly [number, number, string][] = [
  [4036, 4047, 'A JSON value or path is invalid'],
  [3685, 3699, 'A regular expression is invalid'],
];

/**
 * Errors raised before any row is read (syntax, names, privileges, the transaction's mode), by the
 * server or the connection (timeouts, kills, lost connections), or by the rows a write actually
 * writes (duplicate keys, foreign keys, NOT NULL, CHECK: the fast and the fenced form write the
 * same rows). Every other error — data errors, subquery cardinality, JSON and regexp errors, out of
 * memory, SIGNAL, errors not listed — may depend on which rows were evaluated, possibly another
 * tenant's before the row filter removed them (fail closed): see SluiceError.rowDependent.
 */
const ROW_INDEPENDENT_ERRNOS = new Set([
  1062, 1586, 1451, 1452, 1216, 1217, 1048, 1364, 3819, 4025, // the written rows' constraints
  1054, 1146, 1305, 1630, 1064, 1149, 1052, // names, syntax
  1044, 1142, 1143, 1227, 1370, 1792, // privileges, read-only transaction
  1205, 1213, 1969, 3024, 1317, // locks, timeouts, KILL QUERY
  ...UNAVAILABLE_ERRNOS,
]);

/**
 * Whether the error's occurrence can depend on the rows the statement evaluated. A stored function
 * may SIGNAL any SQLSTATE with any MYSQL_ERRNO; one that reuses an errno listed above *and* its
 * natural SQLSTATE is indistinguishable from the server's own (docs/security.md, Error oracles).
 */
export function mayDependOnRows(errno: number, sqlstate: string | undefined): boolean {
  if (sqlstate?.startsWith('45')) return true; // SIGNAL SQLSTATE '45xxx': user-defined
  return !ROW_INDEPENDENT_ERRNOS.has(errno);
}

export interface MysqlErrorContext {
  /** The statement was killed because the client went away (not by the timeout). */
  clientCancelled?: boolean;
  /** The statement was killed by the driver's deadline (KILL QUERY). */
  timedOut?: boolean;
}

interface MysqlLikeError {
  errno?: number;
  code?: string;
  sqlState?: string;
  sqlMessage?: string;
  message?: string;
  fatal?: boolean;
}

/** A name the message gives in quotes, when it is a plain identifier (schema objects only). */
function quotedName(message: string | undefined, pattern: RegExp): string {
  const m = message?.match(pattern);
  return m?.[1] && /^[\w$.]{1,128}$/.test(m[1]) ? ` "${m[1]}"` : '';
}

export function isConnectionError(err: unknown): boolean {
  const e = err as MysqlLikeError | null;
  if (!e || typeof e !== 'object') return false;
  if (e.fatal === true) return true;
  if (e.code !== undefined && SOCKET_CODES.has(e.code)) return true;
  return e.errno !== undefined && UNAVAILABLE_ERRNOS.has(e.errno);
}

function db(code: ErrorCode, sqlstate: string | undefined, message?: string): SluiceError {
  return new SluiceError(code, message, sqlstate === undefined ? {} : { sqlstate });
}

function fromErrno(e: MysqlLikeError, errno: number, sqlstate: string | undefined, ctx: MysqlErrorContext): SluiceError | null {
  const msg = e.sqlMessage ?? e.message;
  // SIGNAL SQLSTATE '45xxx' (user-defined), whatever MYSQL_ERRNO it borrows.
  if (sqlstate?.startsWith('45')) return db('ROUTINE_ERROR', sqlstate);
  switch (errno) {
    case 1062: // ER_DUP_ENTRY: "Duplicate entry '<value>' for key '<name>'"
    case 1586:
      return db('UNIQUE_VIOLATION', sqlstate, `unique key${quotedName(msg, /for key '([^']*)'\s*$/)} violated`);
    case 1451: // ER_ROW_IS_REFERENCED_2
    case 1452: // ER_NO_REFERENCED_ROW_2
    case 1216:
    case 1217:
      return db('FOREIGN_KEY_VIOLATION', sqlstate, `foreign key${quotedName(msg, /CONSTRAINT `([^`]*)`/)} violated`);
    case 1048: // ER_BAD_NULL_ERROR: "Column 'x' cannot be null"
      return db('NOT_NULL_VIOLATION', sqlstate, `column${quotedName(msg, /^Column '([^']*)'/)} must not be null`);
    case 1364: // ER_NO_DEFAULT_FOR_FIELD: "Field 'x' doesn't have a default value"
      return db('NOT_NULL_VIOLATION', sqlstate, `column${quotedName(msg, /^Field '([^']*)'/)} must not be null`);
    case 3819: // MySQL ER_CHECK_CONSTRAINT_VIOLATED
    case 4025: // MariaDB ER_CONSTRAINT_FAILED
      return db('CHECK_VIOLATION', sqlstate, `check constraint${quotedName(msg, /constraint [`']([^`']*)[`']/i)} violated`);
    case 1054: // ER_BAD_FIELD_ERROR: "Unknown column 'x' in 'field list'"
      return db('UNDEFINED_COLUMN', sqlstate, `column${quotedName(msg, /^Unknown column '([^']*)'/)} does not exist`);
    case 1146: // ER_NO_SUCH_TABLE
    case 1305: // ER_SP_DOES_NOT_EXIST (functions)
    case 1630:
      return db('UNDEFINED_OBJECT', sqlstate);
    case 1044:
    case 1142:
    case 1143:
    case 1227:
    case 1370:
      return db('DATABASE_PERMISSION_DENIED', sqlstate);
    case 1205: // ER_LOCK_WAIT_TIMEOUT
    case 1213: // ER_LOCK_DEADLOCK
      return db('SERIALIZATION_FAILURE', sqlstate);
    case 1969: // MariaDB ER_STATEMENT_TIMEOUT (max_statement_time)
    case 3024: // MySQL ER_QUERY_TIMEOUT (max_execution_time)
      return db(ctx.clientCancelled ? 'CLIENT_CLOSED' : 'QUERY_TIMEOUT', sqlstate);
    case 1317: // ER_QUERY_INTERRUPTED (KILL QUERY)
      if (ctx.clientCancelled) return db('CLIENT_CLOSED', sqlstate);
      if (ctx.timedOut) return db('QUERY_TIMEOUT', sqlstate);
      // Not our KILL QUERY: an operator (or a session killer) interrupted it; it did not time out.
      return new SluiceError('DATABASE_UNAVAILABLE', 'The database interrupted the statement (an operator or another session); retry later', {
        ...(sqlstate && { sqlstate }),
        retryAfter: UNAVAILABLE_RETRY_AFTER,
      });
    case 1792: // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
      return db('STATEMENT_NOT_ALLOWED', sqlstate, 'The statement writes, but the transaction is read-only');
    case 1064: // ER_PARSE_ERROR
    case 1149:
    case 1052: // ER_NON_UNIQ_ERROR "Column 'x' in … is ambiguous": a statement error, despite SQLSTATE 23000
      return db('INVALID_SQL', sqlstate);
    case 1644: // ER_SIGNAL_EXCEPTION: SIGNAL in a stored function or trigger
    case 1339: // ER_SP_CASE_NOT_FOUND
      return db('ROUTINE_ERROR', sqlstate);
  }
  // Data errors: a clear 4xx (whether run-job retries the fenced form is mayDependOnRows's call).
  if (DATA_MESSAGES[errno] !== undefined) return db('INVALID_INPUT', sqlstate, DATA_MESSAGES[errno]);
  const range = DATA_ERRNO_RANGES.find(([lo, hi]) => errno >= lo && errno <= hi);
  if (range) return db('INVALID_INPUT', sqlstate, range[2]);
  const cls = sqlstate?.slice(0, 2);
  if (cls === '22') return db('INVALID_INPUT', sqlstate);
  if (cls === '42') return db('INVALID_SQL', sqlstate);
  if (cls === '08' || UNAVAILABLE_ERRNOS.has(errno)) return new SluiceError('DATABASE_UNAVAILABLE', undefined, { ...(sqlstate && { sqlstate }), retryAfter: UNAVAILABLE_RETRY_AFTER });
  return null;
}

/**
 * A stable, sanitized SluiceError for anything mysql2 threw. `logRaw` is called for errors that
 * become INTERNAL_ERROR or DATABASE_UNAVAILABLE, so operators see the real cause.
 */
export function mapMysqlError(err: unknown, ctx: MysqlErrorContext = {}, logRaw?: (err: unknown) => void): SluiceError {
  if (err instanceof SluiceError) return err;
  const e = (err ?? {}) as MysqlLikeError;
  if (typeof e.errno === 'number' && typeof e.sqlState === 'string' && !SOCKET_CODES.has(e.code ?? '')) {
    const mapped = fromErrno(e, e.errno, e.sqlState, ctx) ?? new SluiceError('INTERNAL_ERROR', undefined, { sqlstate: e.sqlState });
    if (mapped.code === 'DATABASE_UNAVAILABLE' || mapped.code === 'INTERNAL_ERROR') logRaw?.(err);
    return mayDependOnRows(e.errno, e.sqlState) ? mapped.asRowDependent() : mapped;
  }
  logRaw?.(err);
  if (ctx.timedOut) return new SluiceError('QUERY_TIMEOUT');
  if (ctx.clientCancelled) return new SluiceError('CLIENT_CLOSED');
  if (isConnectionError(err)) return new SluiceError('DATABASE_UNAVAILABLE', undefined, { retryAfter: UNAVAILABLE_RETRY_AFTER });
  return new SluiceError('INTERNAL_ERROR');
}
