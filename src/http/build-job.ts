/**
 * A /data (or /jobs) body → the QueryJob a worker thread runs: the request-level checks every
 * statement gets (SQL length, param count, connection), plus the principal's claims captured now.
 */
import type { Principal } from '../auth/principal.js';
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import { checkMethod, type BatchStatement, type QueryJob } from '../pool/messages.js';
import type { AdmissionProbe } from '../queue/job-queue.js';
import type { Routing } from '../tenants/router.js';
import { counterIds } from './request-id.js';
import type { DataBody } from './schemas/data-body.js';

/**
 * Job ids (cancels and logs name a job by it): 16 random hex chars per process and a counter, so
 * ids from several API instances sharing one queue never collide. /jobs replaces the id with an
 * unguessable one (queue/async-jobs.ts), so nothing here needs to be secret.
 */
const freshJobId = counterIds(8);

function checkStatement(sql: string, params: unknown[], config: Readonly<SluiceConfig>): void {
  const { limits } = config;
  if (sql.length > limits.maxSqlLength) {
    throw new SluiceError('SQL_TOO_LONG', `The SQL is ${sql.length} characters; the limit is ${limits.maxSqlLength}`);
  }
  if (params.length > limits.maxParams) {
    throw new SluiceError('TOO_MANY_PARAMS', `${params.length} params were sent; the limit is ${limits.maxParams}`);
  }
}

/** Fair-queued by tenant; a token without a tenant claim queues in its user's line. */
function lineOf(tenant: string | undefined, principal: Principal): string | undefined {
  return tenant ?? (principal.user === undefined ? undefined : `user:${principal.user}`);
}

/**
 * What the queue needs to know to refuse a request before its body is read (JobQueue.refusal):
 * only when the connection cannot depend on the body, i.e. the config has one connection.
 * Undefined otherwise, or when routing refuses the tenant (the normal path answers that).
 */
export function admissionProbe(principal: Principal, routing: Routing, deadline: number): AdmissionProbe | undefined {
  const { config, router } = routing;
  let only: string | undefined;
  for (const name in config.connections) {
    if (only !== undefined) return undefined;
    only = name;
  }
  if (only === undefined) return undefined;
  let route: ReturnType<Routing['router']['route']>;
  try {
    route = router.route(principal.tenant, undefined);
  } catch {
    return undefined;
  }
  if (route.connection !== only) return undefined;
  const probe: AdmissionProbe = { connection: only, deadline };
  const line = lineOf(route.tenant, principal);
  if (line !== undefined) probe.tenant = line;
  if (route.tier !== undefined) probe.tier = route.tier;
  return probe;
}

/**
 * `deadline`: epoch ms; the /data route passes now + maxWaitMs + queryTimeout. `routing` decides
 * the connection and tier from the tenant.
 */
export function buildJob(body: DataBody, principal: Principal, routing: Routing, deadline: number): QueryJob {
  const { config, router } = routing;
  const route = router.route(principal.tenant, body.connection);
  const { connection } = route;
  const dialect = config.connections[connection]!.dialect;
  const base: Omit<QueryJob, 'sql' | 'params' | 'method'> = { id: freshJobId(), connection, role: principal.role, claims: principal.claims, deadline };
  const line = lineOf(route.tenant, principal);
  if (line !== undefined) base.tenant = line;
  if (route.tier !== undefined) base.tier = route.tier;
  if (body.batch !== undefined) {
    const batch: BatchStatement[] = body.batch.map((st) => {
      const params = st.params ?? [];
      checkStatement(st.sql, params, config);
      checkMethod(dialect, st.method ?? 'all');
      return { sql: st.sql, params, method: st.method ?? 'all', ...(st.typings !== undefined && { typings: st.typings }) };
    });
    return { ...base, sql: '', params: [], method: 'all', batch };
  }
  const sql = body.sql ?? '';
  const params = body.params ?? [];
  checkStatement(sql, params, config);
  checkMethod(dialect, body.method ?? 'all');
  const job: QueryJob = { ...base, sql, params, method: body.method ?? 'all' };
  if (body.typings !== undefined) job.typings = body.typings;
  return job;
}
