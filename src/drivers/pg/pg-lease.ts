/**
 * One statement on one leased client, in ONE round trip (see pg-pipeline.ts):
 *
 *   Parse/Bind/Execute  select set_config('role', $3, true), set_config('transaction_read_only', …),
 *                              set_config('request.jwt.claims', $1, true), set_config('statement_timeout', $2, true)
 *   Parse/Bind/Execute  the statement (extended protocol: one statement only, defence in depth)
 *   Sync                implicit COMMIT, or ROLLBACK if anything failed
 *
 * Tenant state is transaction-local, so the Sync's commit or rollback discards all of it (`RESET
 * ALL` would not undo a role, and session-level settings would leak to the next tenant). Claims,
 * role and timeout are bound parameters: no client or claim data is ever spliced into SQL text.
 * The statement cannot run without its context: a failed context step makes the server skip it.
 *
 * The earlier design (BEGIN; set_config; statement; COMMIT) took 4 round trips and 4 statements;
 * docs/benchmarks.md has both measured.
 *
 * Both steps are named prepared statements when the connection keeps them (pg-prepared.ts): parsed
 * and planned once per connection, then only Bind/Execute. The context step's rows are not wanted:
 * it is sent without Describe and its row is dropped unparsed.
 */
import type { ExecuteBatchRequest, ExecuteRequest } from '../driver.js';
import { SluiceError } from '../../errors.js';
import { createResponseBudget } from '../common/response-budget.js';
import { runPipeline, type PipelineBudget, type PipelinePrepared, type PipelineResult, type PipelineStep } from './pg-pipeline.js';
import { preparedFor } from './pg-prepared.js';
import { drizzleTypes } from './pg-types.js';
import type pg from 'pg';

/** SQLSTATEs that say a reused prepared statement is gone or stale (no such name; cached plan must not change result type). */
const STALE_PREPARED = new Set(['26000', '0A000']);

export interface LeaseState {
  /** Set by cancel(): stop before sending and report CLIENT_CLOSED. */
  cancelled: boolean;
}

/** The context step; `dbRole` is the config's role, or its template resolved and checked as an identifier. */
export function contextStep(req: Pick<ExecuteRequest, 'claims' | 'timeoutMs' | 'readOnly'>, dbRole: string | undefined): PipelineStep {
  const sets = ["set_config('request.jwt.claims', $1, true)", "set_config('statement_timeout', $2, true)"];
  // statement_timeout 0 would mean "no limit": never send less than 1 ms.
  const values: unknown[] = [JSON.stringify(req.claims), String(Math.max(1, Math.floor(req.timeoutMs)))];
  if (req.readOnly) sets.push("set_config('transaction_read_only', 'on', true)");
  if (dbRole !== undefined) {
    values.push(dbRole);
    // The role first: a missing role or grant fails the step before anything else happens.
    sets.unshift(`set_config('role', $${values.length}, true)`);
  }
  return { text: `select ${sets.join(', ')}`, values, discardRows: true };
}

/** How the driver stops a read that outgrew maxResponseBytes (its server-side cancel). */
export type StopRead = () => void;

/** One budget for the whole lease; only a read is ever stopped (a write must end as a unit). */
function limitOf(req: Pick<ExecuteRequest, 'maxResponseBytes' | 'readOnly'>, stopRead: StopRead): PipelineBudget {
  return { budget: createResponseBudget(req.maxResponseBytes), stop: req.readOnly ? stopRead : null };
}

function checkCancelled(state: LeaseState): void {
  if (state.cancelled) throw new SluiceError('CLIENT_CLOSED');
}

/**
 * The context step failed on the role: a templated dbRole names a role that does not exist, or one
 * the login role may not assume. That is the tenant's setup, never a data error of the statement.
 */
function roleRefused(err: unknown, dbRole: string | undefined): never {
  const e = err as { pipelineStep?: number; code?: string };
  if (dbRole !== undefined && e.pipelineStep === 0 && (e.code === '22023' || e.code === '42501')) {
    throw new SluiceError('DATABASE_PERMISSION_DENIED', "The tenant's database role does not exist or may not be assumed", { sqlstate: e.code });
  }
  throw err;
}

function statementStep(st: Pick<ExecuteRequest, 'sql' | 'params' | 'method'>): PipelineStep {
  return { text: st.sql, values: st.params, budgeted: true, ...(st.method === 'all' && { rowMode: 'array' as const }) };
}

/**
 * The steps in one pipeline, as named prepared statements when the connection keeps them
 * (`preparedStatements` > 0, pg-prepared.ts). A pipeline is one implicit transaction, so when the
 * server says a reused statement is gone or its plan is stale, nothing of it took effect: the
 * connection's statements are forgotten and the pipeline runs once more, parsed afresh.
 */
async function run(client: pg.ClientBase, steps: PipelineStep[], limit: () => PipelineBudget, preparedStatements: number): Promise<PipelineResult[]> {
  const cache = preparedFor(client, preparedStatements);
  if (!cache) return runPipeline(client, steps, drizzleTypes, limit());
  const texts = steps.map((s) => s.text);
  for (let attempt = 0; ; attempt++) {
    const plan = cache.plan(texts);
    const named = steps.map((s, i) => ({ ...s, name: plan.names[i]!, parse: plan.parse[i]! }));
    const prepared: PipelinePrepared = { closes: plan.closes, reached: 0 };
    try {
      const results = await runPipeline(client, named, drizzleTypes, limit(), prepared);
      cache.settle(plan, texts, steps.length);
      return results;
    } catch (err) {
      cache.settle(plan, texts, prepared.reached);
      const code = (err as { code?: unknown }).code;
      if (attempt > 0 || !plan.reused || typeof code !== 'string' || !STALE_PREPARED.has(code)) throw err;
      cache.clear();
    }
  }
}

export async function runLease(
  client: pg.PoolClient,
  req: ExecuteRequest,
  dbRole: string | undefined,
  state: LeaseState,
  stopRead: StopRead,
  preparedStatements = 0,
): Promise<PipelineResult> {
  checkCancelled(state);
  const results = await run(client, [contextStep(req, dbRole), statementStep(req)], () => limitOf(req, stopRead), preparedStatements).catch((e: unknown) =>
    roleRefused(e, dbRole),
  );
  return results[1]!;
}

/**
 * A batch: the context step and every statement in one pipeline, hence one implicit transaction
 * committed at the single Sync; the first error makes the server skip the rest and roll back.
 */
export async function runBatchLease(
  client: pg.PoolClient,
  req: ExecuteBatchRequest,
  dbRole: string | undefined,
  state: LeaseState,
  stopRead: StopRead,
  preparedStatements = 0,
): Promise<PipelineResult[]> {
  checkCancelled(state);
  const steps = [contextStep(req, dbRole), ...req.statements.map(statementStep)];
  const results = await run(client, steps, () => limitOf(req, stopRead), preparedStatements).catch((e: unknown) => roleRefused(e, dbRole));
  return results.slice(1);
}
