/**
 * The one place SQLite errors become sluice errors. Messages are rebuilt from the extended result
 * code: SQLite's own texts name columns and constraint expressions, and a value may appear in a
 * CHECK expression or a custom RAISE() message, so none is passed through. The raw error goes to
 * the log only (via `raw` in the process reply).
 */
import { SluiceError, type ErrorCode } from '../../errors.js';

/** Seconds a client should wait before retrying when the database is locked or unavailable. */
const RETRY_AFTER = 1;

/** Schema-level messages name identifiers from the caller's own SQL, never row values. */
const NO_SUCH = /^no such (table|column|function): [\w.$"`[\]]{1,200}$/;

const DATA_DEPENDENT = [
  /malformed JSON/i,
  /bad JSON path/i,
  /json_object\(\) labels must be TEXT/i,
  /JSON cannot hold BLOB values/i,
  /ESCAPE expression must be a single character/i,
  /argument of ntile must be a positive integer/i,
  /argument to nth_value must be a positive integer/i,
  /LIKE or GLOB pattern too complex/i,
];

/**
 * Errors thrown while statements step (after every statement of the request was prepared and
 * passed the wall). Syntax and name errors come from prepare() and cannot depend on rows; an error
 * while stepping may come from an expression evaluated on another tenant's row before the row
 * filter removed it, so it is row-dependent unless its result code says otherwise (fail closed).
 */
const stepErrors = new WeakSet<object>();

/** Marks `err` as thrown while stepping; returns it, for `throw duringStep(err)`. */
export function duringStep(err: unknown): unknown {
  if (err !== null && typeof err === 'object') stepErrors.add(err);
  return err;
}

/** Raised by the rows a write writes, by locks, by the deadline or by the file: not by evaluating rows. */
const ROW_INDEPENDENT_CODES = /^SQLITE_(CONSTRAINT|BUSY|LOCKED|INTERRUPT|READONLY|AUTH|CANTOPEN|IOERR|CORRUPT|NOTADB|PROTOCOL)/;

/** Whether the error's occurrence can depend on the rows the statement evaluated (SluiceError.rowDependent). */
export function mayDependOnRows(err: unknown): boolean {
  if (err instanceof SluiceError || err === null || typeof err !== 'object' || !stepErrors.has(err)) return false;
  return !ROW_INDEPENDENT_CODES.test(sqliteCode(err) ?? '');
}

function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

function fromMessage(message: string): SluiceError {
  if (NO_SUCH.test(message)) {
    const code: ErrorCode = message.startsWith('no such column') ? 'UNDEFINED_COLUMN' : 'UNDEFINED_OBJECT';
    return new SluiceError(code, message);
  }
  if (/integer overflow|too big|string or blob too big/i.test(message)) return new SluiceError('INVALID_INPUT', 'A numeric value is out of range');
  // Errors a value in a row can cause (whether run-job retries the fenced form is decided by the
  // phase, see mayDependOnRows; these only get the clearer code).
  if (DATA_DEPENDENT.some((re) => re.test(message))) return new SluiceError('INVALID_INPUT', 'A value could not be processed');
  return new SluiceError('INVALID_SQL');
}

/** The raw error as logged (never sent to a client): its code or name and SQLite's message. */
export function rawSqliteError(err: unknown): string {
  return err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
}

/** A stable, sanitized SluiceError for anything better-sqlite3 threw. */
export function mapSqliteError(err: unknown): SluiceError {
  const mapped = mapCode(err);
  return mayDependOnRows(err) ? mapped.asRowDependent() : mapped;
}

function mapCode(err: unknown): SluiceError {
  if (err instanceof SluiceError) return err;
  const code = sqliteCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined) {
    if (/more than one statement/.test(message)) return new SluiceError('STATEMENT_NOT_ALLOWED', 'Only one statement per request');
    // better-sqlite3 throws TypeError/RangeError for parameters it cannot bind.
    if (err instanceof TypeError || err instanceof RangeError) return new SluiceError('INVALID_INPUT', 'A parameter value cannot be bound (numbers, strings, null and booleans only)');
    return new SluiceError('INTERNAL_ERROR');
  }
  switch (code) {
    case 'SQLITE_CONSTRAINT_UNIQUE':
    case 'SQLITE_CONSTRAINT_PRIMARYKEY':
      return new SluiceError('UNIQUE_VIOLATION');
    case 'SQLITE_CONSTRAINT_FOREIGNKEY':
      return new SluiceError('FOREIGN_KEY_VIOLATION');
    case 'SQLITE_CONSTRAINT_NOTNULL':
      return new SluiceError('NOT_NULL_VIOLATION');
    case 'SQLITE_CONSTRAINT_CHECK':
      return new SluiceError('CHECK_VIOLATION');
    case 'SQLITE_READONLY':
      return new SluiceError('STATEMENT_NOT_ALLOWED', 'The statement writes, but the transaction is read-only');
    case 'SQLITE_AUTH':
      return new SluiceError('DATABASE_PERMISSION_DENIED');
    case 'SQLITE_BUSY':
    case 'SQLITE_BUSY_SNAPSHOT':
    case 'SQLITE_BUSY_RECOVERY':
    case 'SQLITE_LOCKED':
      return new SluiceError('SERIALIZATION_FAILURE', 'The database is locked by another writer; retry it', { retryAfter: RETRY_AFTER });
    case 'SQLITE_INTERRUPT':
      return new SluiceError('QUERY_TIMEOUT');
    case 'SQLITE_MISMATCH':
    case 'SQLITE_TOOBIG':
    case 'SQLITE_RANGE':
      return new SluiceError('INVALID_INPUT');
    case 'SQLITE_ERROR':
      return fromMessage(message);
  }
  if (code.startsWith('SQLITE_CONSTRAINT')) return new SluiceError('CHECK_VIOLATION', 'A constraint rejected the row');
  if (/^SQLITE_(CANTOPEN|IOERR|CORRUPT|NOTADB|FULL|NOMEM|PROTOCOL)/.test(code)) {
    return new SluiceError('DATABASE_UNAVAILABLE', undefined, { retryAfter: RETRY_AFTER });
  }
  return new SluiceError('INTERNAL_ERROR');
}
