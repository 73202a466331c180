/**
 * One statement, one transaction, on one leased client. Tenant state (claims, timeout, role) is
 * bound with transaction-local settings only, so COMMIT/ROLLBACK discards all of it: `RESET ALL`
 * would not undo SET ROLE, and session-level SETs would leak to the next tenant on this client.
 *
 * Round trips per lease: 4 (node-postgres never pipelines, each query() waits for ReadyForQuery).
 *   1. `BEGIN [READ ONLY]; SET LOCAL ROLE "r"` — one simple-protocol message. Only config values
 *      (a validated, escaped identifier) are in this text, never client or claim data.
 *   2. `select set_config('request.jwt.claims', $1, true), set_config('statement_timeout', $2, true)`
 *      — claims stay bound parameters, so this cannot be folded into the simple query of step 1.
 *   3. the statement (extended protocol, which refuses multiple statements as defence in depth)
 *   4. `COMMIT`
 * The naive sequence (BEGIN, set_config, SET LOCAL ROLE, statement, COMMIT) takes 5.
 */
import pg from 'pg';
import type { QueryConfig, QueryResult } from 'pg';
import type { ExecuteRequest } from '../driver.js';
import { SluiceError } from '../../errors.js';

export interface LeaseState {
  /** Set by cancel(): stop before the next step and report CLIENT_CLOSED. */
  cancelled: boolean;
}

function checkCancelled(state: LeaseState): void {
  if (state.cancelled) throw new SluiceError('CLIENT_CLOSED');
}

export function beginSql(readOnly: boolean, dbRole: string | undefined): string {
  const begin = readOnly ? 'BEGIN READ ONLY' : 'BEGIN';
  return dbRole === undefined ? begin : `${begin}; SET LOCAL ROLE ${pg.escapeIdentifier(dbRole)}`;
}

const BIND_CONTEXT = "select set_config('request.jwt.claims', $1, true), set_config('statement_timeout', $2, true)";

export async function runLease(client: pg.PoolClient, req: ExecuteRequest, dbRole: string | undefined, state: LeaseState): Promise<QueryResult<unknown[] | Record<string, unknown>>> {
  checkCancelled(state);
  await client.query(beginSql(req.readOnly, dbRole));
  // statement_timeout 0 would mean "no limit": never send less than 1 ms.
  const timeout = String(Math.max(1, Math.floor(req.timeoutMs)));
  await client.query(BIND_CONTEXT, [JSON.stringify(req.claims), timeout]);
  checkCancelled(state);
  const statement: QueryConfig & { rowMode?: 'array'; queryMode: 'extended' } = {
    text: req.sql,
    values: req.params,
    queryMode: 'extended',
    ...(req.method === 'all' && { rowMode: 'array' as const }),
  };
  const result = await client.query(statement as QueryConfig);
  await client.query('COMMIT');
  return result as QueryResult<unknown[] | Record<string, unknown>>;
}
