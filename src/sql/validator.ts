/**
 * The validator/rewriter contract every dialect implements. `check` is pure over
 * (connection, role, SQL text, typings): claim values are never spliced in, they are appended as
 * parameters described by `claimParams`, so a checked statement can be cached and reused.
 * Every refusal is a thrown SluiceError (403 for permissions, 400 for malformed/limits).
 */
export type UpsertShape = 'one-row' | 'rows';

export type StatementKind = 'select' | 'insert' | 'update' | 'delete';

/** Where an appended parameter's value comes from at execution time. */
export type ParamSource =
  | { kind: 'claim'; ref: string } // a JWT claim (auth/claim-lookup.ts); missing → CLAIM_MISSING (403)
  | { kind: 'literal'; value: string | number | boolean | null }; // a literal from the config

/**
 * A value the client sent for a preset column (INSERT VALUES, UPDATE SET, upserts): accepted only
 * when, at bind time, it equals the preset's value (preset-check.ts).
 */
export interface PresetCheck {
  /** A client param (0-based index) or a literal of the SQL text. */
  sent: { kind: 'client'; index: number } | { kind: 'literal'; value: string | number | boolean | null };
  preset: ParamSource;
  /** "schema.table.column", for the refusal. */
  column: string;
}

export interface CheckInput {
  sql: string;
  role: string;
  /** Parameter type hints from Drizzle's pg-proxy (`json`, `timestamp`, `date`, `decimal`, `uuid`, `time`, `none`). */
  typings?: string[];
}

export interface CheckedStatement {
  /** The rewritten SQL: client placeholders keep their numbers, gateway params follow them. */
  sql: string;
  kind: StatementKind;
  /** True when the statement cannot write (plain SELECT without locking clauses). */
  readOnly: boolean;
  /** How many placeholders the client must supply ($1..$clientParamCount). */
  clientParamCount: number;
  /** Sources of the appended params $clientParamCount+1 … in order. */
  claimParams: ParamSource[];
  /** Qualified names of every table the statement touches (for logs). */
  tables: string[];
  /** True when the rewriter added a LIMIT maxRows+1 to the outermost query. */
  rowCapped: boolean;
  /**
   * An INSERT that may update the row it conflicts with instead (ON DUPLICATE KEY UPDATE, ON
   * CONFLICT DO UPDATE): drivers must not trust the database's insert id for it (ExecuteRequest.upsert).
   * `one-row`: a single VALUES row; `rows`: several, or INSERT … SELECT.
   */
  upsert?: UpsertShape;
  /**
   * The same statement with every row filter fenced so it is applied before any of the caller's
   * predicates (slower plans, same params, same results). Run it when the fast form fails with a
   * data-dependent error: the fast form may have evaluated the caller's expression on another
   * tenant's row, and its error must not become an oracle. Undefined when there is nothing to fence.
   */
  fallbackSql?: string;
  /**
   * Positional dialects (`?`: MySQL, SQLite): the value of each `?` of `sql`, in order — a client
   * param (`max`: clamped to at most this number, for an outer `LIMIT ?`) or a gateway param
   * (`claimParams[index]`; `json`: bound as its JSON text). When absent, params are the client's
   * followed by the gateway's (Postgres `$n`).
   */
  paramOrder?: ParamSlot[];
  /**
   * Client params used as patterns, search strings or replacements (common/function-costs.ts):
   * with `fixed` characters of literals around them, their values may be at most `max` characters.
   */
  boundedParams?: BoundedParams[];
  /** Preset columns the client sent a value for: checked, then rebound to the preset (bindParams). */
  presetChecks?: PresetCheck[];
}

export interface BoundedParams {
  /** Client param indexes (0-based). */
  params: number[];
  fixed: number;
  max: number;
}

export type ParamSlot = { kind: 'client'; index: number; max?: number } | { kind: 'gateway'; index: number; json?: boolean };

export interface Validator {
  check(input: CheckInput): CheckedStatement;
}

export interface CachedValidator extends Validator {
  /** How the last check() was answered (for metrics/timings). */
  lastWasCacheHit(): boolean;
}
