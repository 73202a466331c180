/**
 * One statement (or one batch), one transaction, on one leased connection. Round trips per lease:
 *   1. `SET SESSION sql_mode = …, time_zone = '+00:00', <time limit>, @sluice_tenant_id = …,
 *      @sluice_claims = …` — the tenant context as session variables that views or functions
 *      can read (a second wall for teams that isolate tenants with views). Claim values travel as
 *      hex literals, never through string escaping, and the session's sql_mode is pinned (no
 *      ANSI_QUOTES, no NO_BACKSLASH_ESCAPES) before any client value is escaped by mysql2.
 *   2. `START TRANSACTION [READ ONLY]` — skipped for a single read: the SET of step 1 then also
 *      makes the session read-only, and the statement runs as one read-only autocommit transaction
 *      (3 round trips instead of 4; the reset of step 5 clears the read-only flag).
 *   3. the statement(s)
 *   4. `COMMIT` (writes only: a read-only transaction is simply rolled back by step 5)
 *   5. on release, COM_RESET_CONNECTION (mysql2 `reset()`): user variables, session variables,
 *      an open transaction, temporary tables and prepared statements are all dropped by the
 *      server. A connection whose reset fails is destroyed, never reused.
 */
import type mysql from 'mysql2/promise';
import type { ExecuteRequest } from '../driver.js';
import { SluiceError } from '../../errors.js';
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

export function contextSql(claims: Record<string, unknown>, tenantId: unknown, timeoutMs: number, flavor: MysqlFlavor, sessionReadOnly = false): string {
  return (
    `SET SESSION sql_mode = '${SQL_MODE}', SESSION time_zone = '+00:00', ${flavor.timeoutAssignment(timeoutMs)}, ` +
    (sessionReadOnly ? `${flavor.readOnlyAssignment}, ` : '') +
    `@sluice_tenant_id = ${sqlLiteral(tenantId)}, @sluice_claims = ${sqlLiteral(claims)}`
  );
}

/** Objects and arrays would be expanded by mysql2 into `key = value` lists or value lists. */
function bindable(params: unknown[]): unknown[] {
  for (const p of params) {
    if (p !== null && typeof p === 'object' && !Buffer.isBuffer(p)) {
      throw new SluiceError('INVALID_INPUT', 'A parameter is an object or array; send JSON values as strings');
    }
  }
  return params;
}

interface ResultHeader {
  affectedRows: number;
  insertId: number | string;
}

function isHeader(r: unknown): r is ResultHeader {
  return r !== null && typeof r === 'object' && !Array.isArray(r) && 'affectedRows' in r;
}

export interface StatementOutcome {
  rows: unknown[];
  rowCount: number | null;
}

/**
 * Shapes as Drizzle's mysql-proxy expects them: `all` → positional row arrays; `execute` → for a
 * write, `[{ insertId, affectedRows }]` (Drizzle reads rows[0].insertId for $returningId()); for a
 * read, the row objects.
 */
function shape(result: unknown, method: LeaseStatement['method']): StatementOutcome {
  if (isHeader(result)) {
    const header = { insertId: Number(result.insertId), affectedRows: result.affectedRows };
    return { rows: method === 'execute' ? [header] : [], rowCount: result.affectedRows };
  }
  const rows = Array.isArray(result) ? result : [];
  return { rows, rowCount: rows.length };
}

export async function runLease(
  c: mysql.PoolConnection,
  statements: LeaseStatement[],
  ctx: { claims: Record<string, unknown>; tenantId: unknown; timeoutMs: number; readOnly: boolean; flavor: MysqlFlavor },
  state: LeaseState,
): Promise<StatementOutcome[]> {
  checkCancelled(state);
  // A lone read needs no explicit transaction; a batch of reads keeps one for a single snapshot.
  const autocommitRead = ctx.readOnly && statements.length === 1;
  await c.query(contextSql(ctx.claims, ctx.tenantId, ctx.timeoutMs, ctx.flavor, autocommitRead));
  if (!autocommitRead) await c.query(ctx.readOnly ? 'START TRANSACTION READ ONLY' : 'START TRANSACTION');
  const out: StatementOutcome[] = [];
  for (const s of statements) {
    checkCancelled(state);
    const [result] = await c.query({ sql: s.sql, values: bindable(s.params), rowsAsArray: s.method === 'all' });
    out.push(shape(result, s.method));
  }
  if (!ctx.readOnly) await c.query('COMMIT');
  return out;
}
