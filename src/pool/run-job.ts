/**
 * One QueryJob on a worker thread: deadline → check/rewrite → bind → execute. Never throws: every
 * failure becomes `{ ok: false, error }`, and anything that is not a SluiceError is logged here and
 * answered as INTERNAL_ERROR, so no stack or database detail crosses the thread boundary.
 */
import type { Limits } from '../config/types.js';
import { refuseEmptyTruncation } from '../drivers/common/response-budget.js';
import type { ExecuteResult } from '../drivers/driver.js';
import { SluiceError, type ErrorBody } from '../errors.js';
import { bindParams } from '../sql/bind-params.js';
import type { QueryJob, QueryOutcome } from './messages.js';
import { runBatch } from './run-batch.js';
import type { ThreadLog } from './thread-log.js';
import type { ThreadRuntime } from './thread-runtime.js';
import { withJsonBody } from './wire-answer.js';

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function errorBody(e: unknown, job: QueryJob, log: ThreadLog): ErrorBody {
  if (e instanceof SluiceError) return e.toBody();
  log.error({ jobId: job.id, connection: job.connection, err: e instanceof Error ? (e.stack ?? e.message) : String(e) }, 'query task failed');
  return new SluiceError('INTERNAL_ERROR').toBody();
}

/** Drivers map every error they throw; anything else is unexpected, so it counts as row-dependent. */
function mayDependOnRows(e: unknown): boolean {
  return !(e instanceof SluiceError) || e.rowDependent;
}

function remainingMs(job: QueryJob, limits: Limits): number {
  const left = Math.min(limits.queryTimeout, job.deadline - Date.now());
  if (left <= 0) throw new SluiceError('QUERY_TIMEOUT', 'The request deadline passed before the query could run');
  return left;
}

/** A /data job (`answer: "json"`) gets its response body built here, on the thread (wire-answer.ts). */
function answer(job: QueryJob, outcome: QueryOutcome): QueryOutcome {
  return job.answer === 'json' ? withJsonBody(job, outcome) : outcome;
}

export async function runJob(job: QueryJob, runtime: ThreadRuntime, limits: Limits, log: ThreadLog): Promise<QueryOutcome> {
  const untrack = runtime.track(job.id);
  let tables: string[] | undefined;
  try {
    remainingMs(job, limits);
    if (job.batch !== undefined) {
      return answer(job, await runBatch({ ...job, batch: job.batch }, runtime, limits, () => remainingMs(job, limits), (t) => (tables = t)));
    }
    const { validator, driver } = await runtime.connection(job.connection, job.tier);
    const checkStart = performance.now();
    const checked = validator.check({ sql: job.sql, role: job.role, ...(job.typings !== undefined && { typings: job.typings }) });
    const checkMs = performance.now() - checkStart;
    const cacheHit = validator.lastWasCacheHit?.() ?? false;
    tables = checked.tables;
    // The job started once on a worker that died: a write must not run a second time.
    if (job.readOnlyRetry === true && !checked.readOnly) throw new SluiceError('WORKER_LOST');
    const params = bindParams(checked, job.params, job.claims);
    const execute = (sql: string): Promise<ExecuteResult> =>
      driver.execute({
        jobId: job.id,
        sql,
        params,
        method: job.method,
        claims: job.claims,
        timeoutMs: remainingMs(job, limits),
        maxRows: limits.maxRows,
        maxResponseBytes: limits.maxResponseBytes,
        readOnly: checked.readOnly,
        tables: checked.tables,
        ...(checked.upsert !== undefined && { upsert: checked.upsert }),
      });
    // A cancel that came before the driver knew the job (it overtook the task, or the parsers were
    // loading) stops it here; from the driver call on, driver.cancel() does. No await in between.
    if (runtime.isCancelled(job.id)) throw new SluiceError('CLIENT_CLOSED');
    let result: ExecuteResult;
    try {
      result = await execute(checked.sql);
    } catch (e) {
      // The fast form may have evaluated the caller's expression on another tenant's row; an error
      // that can depend on the rows evaluated must not become an oracle, so the fenced form decides
      // (see CheckedStatement.fallbackSql). Each driver's error mapping says which errors can.
      if (checked.fallbackSql === undefined || !mayDependOnRows(e) || runtime.isCancelled(job.id)) throw e;
      result = await execute(checked.fallbackSql);
    }
    refuseEmptyTruncation([result], checked.readOnly);
    return answer(job, {
      ok: true,
      result: {
        rows: result.rows,
        rowCount: result.rowCount,
        truncated: result.truncated,
        ...(result.fields !== undefined && { fields: result.fields }),
        tables: checked.tables,
        kind: checked.kind,
        timings: { checkMs: cacheHit ? 0 : round(checkMs), acquireMs: round(result.acquireMs), leaseMs: round(result.leaseMs), cacheHit },
      },
    });
  } catch (e) {
    const error = errorBody(e, job, log);
    // A permission refusal names its table although the statement never got its table list.
    if (tables === undefined && e instanceof SluiceError && e.table !== undefined) tables = [e.table];
    return tables === undefined ? { ok: false, error } : { ok: false, error, tables };
  } finally {
    untrack();
  }
}
