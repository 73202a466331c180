/**
 * The one registry of error codes sluice answers with. Every client-visible error is built from
 * here, so a code always maps to the same HTTP status. `test/unit/errors.test.ts` checks that every
 * code is documented in docs/errors.md.
 */
export const ERRORS = {
  // 400 — the request itself is wrong
  BAD_REQUEST: { status: 400, message: 'The request body is malformed' },
  SQL_PARSE_ERROR: { status: 400, message: 'The SQL does not parse' },
  SQL_TOO_LONG: { status: 400, message: 'The SQL text is longer than limits.maxSqlLength' },
  TOO_MANY_PARAMS: { status: 400, message: 'More parameters than limits.maxParams' },
  PARAM_COUNT_MISMATCH: { status: 400, message: 'The number of params does not match the placeholders in the SQL' },
  RELATION_DEPTH_EXCEEDED: { status: 400, message: 'Subquery nesting deeper than limits.maxRelationDepth' },
  FILTER_NESTING_EXCEEDED: { status: 400, message: 'AND/OR/NOT nesting deeper than limits.maxFilterNesting' },
  JSON_TOO_DEEP: { status: 400, message: 'JSON nests deeper than limits.maxJsonDepth' },
  SQL_TOO_COMPLEX: { status: 400, message: 'The statement has more tokens, nodes, set operations or table references than limits allow' },
  VALUE_GROWTH_EXCEEDED: { status: 400, message: 'An expression could build a value more than limits.maxValueGrowth times larger than its inputs' },
  ARGUMENT_TOO_LONG: { status: 400, message: 'A pattern, search string or replacement is longer than limits.maxPatternLength, or not a literal or parameter' },
  CONFIG_INVALID: { status: 400, message: 'The new config is invalid or changes what only a restart can change; the running config stays' },
  UNKNOWN_CONNECTION: { status: 400, message: 'No such connection' },
  INVALID_TYPING: { status: 400, message: 'Unknown parameter typing' },
  METHOD_NOT_SUPPORTED: { status: 400, message: "The method is not supported by the connection's dialect" },
  LITERAL_NOT_ALLOWED: { status: 400, message: 'The SQL carries a literal value that sql.literals refuses; pass it as a parameter' },
  RESULT_TOO_LARGE: { status: 400, message: 'A row of the result does not fit in limits.maxResponseBytes; select fewer or narrower rows' },
  // 400 — the database refused the statement for a reason the client can fix
  UNDEFINED_COLUMN: { status: 400, message: 'Column does not exist or is not permitted' },
  UNDEFINED_OBJECT: { status: 400, message: 'Relation or function does not exist or is not permitted' },
  INVALID_SQL: { status: 400, message: 'The statement is invalid' },
  INVALID_INPUT: { status: 400, message: 'A value is invalid for its type' },
  NOT_NULL_VIOLATION: { status: 400, message: 'A required column is missing a value' },
  CHECK_VIOLATION: { status: 400, message: 'A check constraint rejected the row' },
  ROUTINE_ERROR: { status: 400, message: 'A database function or trigger raised an error' },
  // 401 — who are you?
  TOKEN_MISSING: { status: 401, message: 'Authorization: Bearer <token> is required' },
  TOKEN_INVALID: { status: 401, message: 'The token is invalid' },
  TOKEN_EXPIRED: { status: 401, message: 'The token has expired' },
  // 403 — the permissions do not allow it
  ROLE_NOT_ALLOWED: { status: 403, message: 'The role has no permissions on this connection' },
  STATEMENT_NOT_ALLOWED: { status: 403, message: 'Only a single SELECT, INSERT, UPDATE or DELETE is allowed' },
  TABLE_NOT_ALLOWED: { status: 403, message: 'The role may not use this table' },
  OPERATION_NOT_ALLOWED: { status: 403, message: 'The role may not perform this operation on this table' },
  COLUMN_NOT_ALLOWED: { status: 403, message: 'The role may not use this column' },
  FUNCTION_NOT_ALLOWED: { status: 403, message: 'The function is not allowed' },
  TYPE_NOT_ALLOWED: { status: 403, message: 'The type is not allowed' },
  CONSTRUCT_NOT_ALLOWED: { status: 403, message: 'The SQL uses a construct the gateway does not allow' },
  PRESET_COLUMN: { status: 403, message: 'The column is set by the gateway and cannot be supplied' },
  CLAIM_MISSING: { status: 403, message: 'The token lacks a claim the permissions need' },
  CLAIM_AMBIGUOUS: { status: 403, message: 'The token spells one claim name two ways (a key with dots and a nested path)' },
  TENANT_UNKNOWN: { status: 403, message: 'The tenant has no route to a database' },
  TENANT_SUSPENDED: { status: 403, message: 'The tenant is suspended' },
  CONNECTION_NOT_ROUTED: { status: 403, message: "The tenant's route does not include this connection" },
  DATABASE_PERMISSION_DENIED: { status: 403, message: 'The database refused the operation' },
  // 404/405
  NOT_FOUND: { status: 404, message: 'Not found' },
  JOB_NOT_FOUND: { status: 404, message: 'No such job (or it expired)' },
  // 408
  QUERY_TIMEOUT: { status: 408, message: 'The query ran longer than limits.queryTimeout and was cancelled' },
  // 409 — the data conflicts
  UNIQUE_VIOLATION: { status: 409, message: 'A row with the same unique key already exists' },
  FOREIGN_KEY_VIOLATION: { status: 409, message: 'A referenced row is missing or still referenced' },
  SERIALIZATION_FAILURE: { status: 409, message: 'The transaction conflicted with another; retry it' },
  JOB_NOT_FINISHED: { status: 409, message: 'The job has not finished yet' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  // 413, 415, 431
  BODY_TOO_LARGE: { status: 413, message: 'The request body is larger than server.bodyLimit' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The body must be application/json' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are larger than the server accepts' },
  // 429
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  TENANT_BUSY: { status: 429, message: "The tenant's line of waiting requests is full; retry later" },
  JOB_QUOTA_EXCEEDED: { status: 429, message: 'Too many stored async jobs; retry when results expire' },
  // 499-ish: the client went away; never sent, only logged
  CLIENT_CLOSED: { status: 499, message: 'The client closed the request' },
  // 503 — come back later
  OVERLOADED: { status: 503, message: 'The gateway is at capacity; retry later' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unavailable; retry later' },
  SHUTTING_DOWN: { status: 503, message: 'The gateway is shutting down' },
  QUEUE_UNAVAILABLE: { status: 503, message: 'The job queue (Redis) is unavailable; retry later' },
  TENANT_MAINTENANCE: { status: 503, message: 'The tenant is in maintenance; retry later' },
  CIRCUIT_OPEN: { status: 503, message: 'The database failed repeatedly; requests fail fast until a probe succeeds' },
  WORKER_LOST: { status: 503, message: 'The worker running the job stopped; a write is never re-run, so its effect is unknown' },
  // 500 — a bug in sluice
  INTERNAL_ERROR: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** Plain, structured-clone-safe shape of an error: what crosses thread boundaries and goes to clients. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  /** SQLSTATE when the database produced the error. */
  sqlstate?: string;
  /** Seconds, for 429/503. */
  retryAfter?: number;
}

export interface SluiceErrorExtra {
  sqlstate?: string;
  retryAfter?: number;
  /** See SluiceError.table. */
  table?: string;
  rowDependent?: boolean;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly sqlstate: string | undefined;
  readonly retryAfter: number | undefined;
  /**
   * The table a permission refusal is about (`schema.table`), for the refusal's logs and the
   * operator console. Never part of toBody(): clients read it in the message.
   */
  readonly table: string | undefined;

  /**
   * The database raised it while evaluating the statement, so whether it happens can depend on
   * which rows were evaluated — possibly another tenant's, before the row filter removed them.
   * Set by each driver's error mapping (fail closed: anything not known to be row-independent);
   * run-job then lets the fenced form answer instead. Never sent to clients (not in toBody).
   */
  readonly rowDependent: boolean;

  constructor(code: ErrorCode, message?: string, extra: SluiceErrorExtra = {}) {
    super(message ?? ERRORS[code].message);
    this.name = 'SluiceError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.sqlstate = extra.sqlstate;
    this.retryAfter = extra.retryAfter;
    this.table = extra.table;
    this.rowDependent = extra.rowDependent === true;
  }

  /** The same error, marked as raised while evaluating rows (see rowDependent). */
  asRowDependent(): SluiceError {
    if (this.rowDependent) return this;
    return new SluiceError(this.code, this.message, { ...this.extra(), rowDependent: true });
  }

  private extra(): SluiceErrorExtra {
    const extra: SluiceErrorExtra = {};
    if (this.sqlstate !== undefined) extra.sqlstate = this.sqlstate;
    if (this.retryAfter !== undefined) extra.retryAfter = this.retryAfter;
    if (this.table !== undefined) extra.table = this.table;
    return extra;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.sqlstate !== undefined) body.sqlstate = this.sqlstate;
    if (this.retryAfter !== undefined) body.retryAfter = this.retryAfter;
    return body;
  }

  static fromBody(body: ErrorBody, opts: { rowDependent?: boolean } = {}): SluiceError {
    const extra: SluiceErrorExtra = {};
    if (body.sqlstate !== undefined) extra.sqlstate = body.sqlstate;
    if (body.retryAfter !== undefined) extra.retryAfter = body.retryAfter;
    if (opts.rowDependent === true) extra.rowDependent = true;
    return new SluiceError(body.code in ERRORS ? body.code : 'INTERNAL_ERROR', body.message, extra);
  }
}

export function isSluiceError(e: unknown): e is SluiceError {
  return e instanceof SluiceError;
}
