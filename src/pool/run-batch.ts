/**
 * A batch job on a worker thread: every statement is checked and rewritten exactly like a /data
 * statement, then all of them run in one transaction on one lease (all or nothing). A statement
 * with a fenced `fallbackSql` runs in that form directly: inside a transaction there is no cheap
 * retry of one statement, and the fenced form never turns another tenant's row into an oracle.
 */
import type { Limits } from '../config/types.js';
import { refuseEmptyTruncation } from '../drivers/common/response-budget.js';
import type { BatchRequestStatement } from '../drivers/driver.js';
import { SluiceError } from '../errors.js';
import { bindParams } from '../sql/bind-params.js';
import type { BatchStatement, QueryJob, QueryOutcome } from './messages.js';
import type { ThreadRuntime } from './thread-runtime.js';

/** Throws SluiceError; the caller (runJob) turns it into an outcome. */
export async function runBatch(
  job: QueryJob & { batch: BatchStatement[] },
  runtime: ThreadRuntime,
  limits: Limits,
  remainingMs: () => number,
  onTables: (tables: string[]) => void,
): Promise<QueryOutcome> {
  const { validator, driver } = await runtime.connection(job.connection, job.tier);
  const checkStart = performance.now();
  const statements: BatchRequestStatement[] = [];
  const tables = new Set<string>();
  let readOnly = true;
  let allCacheHits = true;
  for (const st of job.batch) {
    const checked = validator.check({ sql: st.sql, role: job.role, ...(st.typings !== undefined && { typings: st.typings }) });
    allCacheHits &&= validator.lastWasCacheHit?.() ?? false;
    for (const t of checked.tables) tables.add(t);
    onTables([...tables]);
    readOnly &&= checked.readOnly;
    statements.push({
      sql: checked.fallbackSql ?? checked.sql,
      params: bindParams(checked, st.params, job.claims),
      method: st.method,
      tables: checked.tables,
      ...(checked.upsert !== undefined && { upsert: checked.upsert }),
    });
  }
  const checkMs = performance.now() - checkStart;
  if (job.readOnlyRetry === true && !readOnly) throw new SluiceError('WORKER_LOST');
  // As in runJob: a cancel the driver never saw (it came while the parsers loaded, or before the job).
  if (runtime.isCancelled(job.id)) throw new SluiceError('CLIENT_CLOSED');
  const result = await driver.executeBatch({
    jobId: job.id,
    statements,
    claims: job.claims,
    timeoutMs: remainingMs(),
    maxRows: limits.maxRows,
    maxResponseBytes: limits.maxResponseBytes,
    readOnly,
  });
  refuseEmptyTruncation(result.results, readOnly);
  return {
    ok: true,
    result: {
      rows: [],
      rowCount: null,
      truncated: result.results.some((r) => r.truncated),
      tables: [...tables],
      kind: 'batch',
      results: result.results,
      timings: {
        checkMs: allCacheHits ? 0 : Math.round(checkMs * 100) / 100,
        acquireMs: Math.round(result.acquireMs * 100) / 100,
        leaseMs: Math.round(result.leaseMs * 100) / 100,
        cacheHit: allCacheHits,
      },
    },
  };
}
