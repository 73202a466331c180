/**
 * Async jobs: POST /jobs (the /data body, or { batch }) → 202 { id, state, href };
 * GET /jobs/:id, GET /jobs/:id/result[?format=json|ndjson|csv], DELETE /jobs/:id.
 * Same authentication, rate limits, checks and permission rewrite as /data (the claims are
 * captured at submission). A job is visible only to the user+tenant that submitted it: for
 * anyone else it is a 404, exactly like an id that never existed.
 */
import { Readable } from 'node:stream';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../../auth/verifier.js';
import type { SluiceConfig } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import type { QueryResult } from '../../pool/messages.js';
import type { AsyncJobs, JobOwner, JobStatus } from '../../queue/async-jobs.js';
import { auditIfClientGone, auditRequest } from '../../observability/audit-log.js';
import { buildJob } from '../build-job.js';
import type { Routing } from '../../tenants/router.js';
import { authHook } from '../plugins/auth.js';
import { ipRateLimitHook, userRateLimitHook } from '../plugins/rate-limit.js';
import type { RateLimiter } from '../rate-limit/rate-limiter.js';
import { dataBodySchema, type DataBody } from '../schemas/data-body.js';
import { jobIdParams as idParams, jobResultQuery as resultQuery } from '../schemas/jobs.js';
import { csvLines, ndjsonLines } from './result-formats.js';

export interface JobsRouteOptions {
  config: Readonly<SluiceConfig>;
  /** Live connections/permissions/tenants (replaced on reload). */
  routing: Routing;
  jobs: AsyncJobs;
  verifier: TokenVerifier;
  rateLimiter: RateLimiter;
}

function ownerOf(request: FastifyRequest): JobOwner {
  const p = request.sluice.principal!;
  // Without a user claim two callers of one tenant could not be told apart.
  if (p.user === undefined) throw new SluiceError('CLAIM_MISSING', 'Async jobs need a user claim in the token');
  return { user: p.user, tenant: p.tenant === undefined ? null : String(p.tenant) };
}

function notFound(): SluiceError {
  return new SluiceError('JOB_NOT_FOUND');
}

function view(status: JobStatus): JobStatus & { href: string } {
  return { ...status, href: `/jobs/${status.id}` };
}

function sendRows(reply: FastifyReply, result: QueryResult, format: 'json' | 'ndjson' | 'csv'): unknown {
  if (format === 'json') {
    if (result.results !== undefined) return { results: result.results, truncated: result.truncated };
    return { rows: result.rows, rowCount: result.rowCount, truncated: result.truncated };
  }
  if (result.results !== undefined) throw new SluiceError('BAD_REQUEST', 'A batch result is only available as format=json');
  reply.header('x-sluice-truncated', String(result.truncated));
  if (format === 'ndjson') return reply.type('application/x-ndjson').send(Readable.from(ndjsonLines(result.rows)));
  return reply.type('text/csv; charset=utf-8').send(Readable.from(csvLines(result.rows)));
}

export const jobsRoute: FastifyPluginAsync<JobsRouteOptions> = async (app, { config, routing, jobs, verifier, rateLimiter }) => {
  const { limits } = config;
  // First, so a client that leaves at any stage is audited.
  app.addHook('onRequest', async (request, reply) => auditIfClientGone(request, reply));
  app.addHook('onRequest', ipRateLimitHook(rateLimiter, limits));
  app.addHook('onRequest', authHook(verifier, config.auth));
  app.addHook('onRequest', userRateLimitHook(rateLimiter, limits));
  app.addHook('onResponse', async (request, reply) => auditRequest(request, reply.statusCode, reply.elapsedTime));

  app.post<{ Body: DataBody }>('/jobs', { schema: { body: dataBodySchema } }, async (request, reply) => {
    const owner = ownerOf(request);
    // The deadline is set when a worker starts the job.
    const job = buildJob(request.body, request.sluice.principal!, routing, 0);
    request.sluice.connection = job.connection;
    const submitted = await jobs.submit(job, owner);
    if (!submitted.ok) throw SluiceError.fromBody(submitted.error);
    request.sluice.jobId = submitted.id;
    return reply.code(202).send(view({ id: submitted.id, state: 'queued' }));
  });

  app.get<{ Params: { id: string } }>('/jobs/:id', { schema: { params: idParams } }, async (request) => {
    const status = await jobs.status(request.params.id, ownerOf(request));
    if (!status) throw notFound();
    return view(status);
  });

  app.get<{ Params: { id: string }; Querystring: { format: 'json' | 'ndjson' | 'csv' } }>(
    '/jobs/:id/result',
    { schema: { params: idParams, querystring: resultQuery } },
    async (request, reply) => {
      const found = await jobs.result(request.params.id, ownerOf(request));
      if (!found) throw notFound();
      const { status, outcome } = found;
      if (outcome === undefined) throw new SluiceError('JOB_NOT_FINISHED', `The job is ${status.state}`);
      if (!outcome.ok) throw SluiceError.fromBody(outcome.error);
      return sendRows(reply, outcome.result, request.query.format);
    },
  );

  app.delete<{ Params: { id: string } }>('/jobs/:id', { schema: { params: idParams } }, async (request) => {
    const status = await jobs.cancel(request.params.id, ownerOf(request));
    if (!status) throw notFound();
    return view(status);
  });
};
