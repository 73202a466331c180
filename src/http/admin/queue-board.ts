/**
 * The BullMQ queues (queue mode) through bull-board, under /admin/queues, behind the admin guard.
 * Mounted read-only: a retried or re-added job would run its statement a second time, and sluice
 * never re-runs a write (WORKER_LOST). Job data and return values are shown reduced to what an
 * operator needs — kind, connection, role, tenant, method, outcome code, row count — never the
 * SQL, its parameters, the token's claims or the rows.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Queue } from 'bullmq';
import type { AsyncPayload, JobPayload, JobReturn } from '../../queue/bullmq/payload.js';
import type { QueryJob } from '../../pool/messages.js';
import { SluiceError } from '../../errors.js';
import { sendError } from '../plugins/error-handler.js';
import { BOARD_PATH, type AdminAuth } from './admin-auth.js';

export interface QueueBoardOptions {
  auth: AdminAuth;
  queues: readonly Queue[];
}

/** One statement's shape, never its SQL, parameters or claims. */
function shapeOf(job: Partial<QueryJob> | undefined): Record<string, unknown> {
  return {
    connection: job?.connection,
    role: job?.role,
    tenant: job?.tenant,
    tier: job?.tier,
    method: job?.batch === undefined ? job?.method : 'batch',
    statements: job?.batch?.length ?? (job === undefined ? undefined : 1),
  };
}

/** What bull-board shows as a job's data: an async job's shape, or a /data job's requests' shapes. */
export function boardData(data: Partial<JobPayload> | undefined): Record<string, unknown> {
  if (data?.kind === 'batch') return { kind: 'batch', requests: (data.items ?? []).map((job) => shapeOf(job)) };
  return { kind: data?.kind, ...shapeOf((data as Partial<AsyncPayload> | undefined)?.job) };
}

/** What bull-board shows as a job's return value. */
export function boardReturn(value: JobReturn | undefined | null): Record<string, unknown> | null {
  if (value === undefined || value === null || typeof value !== 'object') return null;
  if ('unsent' in value) return { batch: true };
  if (!value.ok) return { ok: false, code: value.error?.code };
  return { ok: true, rowCount: value.result?.rowCount ?? null, rows: value.result?.rows?.length ?? 0, truncated: value.result?.truncated ?? false };
}

export const queueBoard: FastifyPluginAsync<QueueBoardOptions> = async (app, { auth, queues }) => {
  // Loaded only in queue mode: an in-process gateway never pays for the board's code.
  const [{ createBullBoard }, { BullMQAdapter }, { FastifyAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/fastify'),
  ]);
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  const adapters = queues.map((q) => {
    const adapter = new BullMQAdapter(q, { readOnlyMode: true, allowRetries: false, description: 'sluice /data and /jobs statements (read-only; SQL and rows not shown)' });
    adapter.setFormatter('data', (d: Partial<JobPayload> | undefined) => boardData(d));
    adapter.setFormatter('returnValue', (v: JobReturn | undefined) => boardReturn(v));
    return adapter;
  });
  createBullBoard({ queues: adapters, serverAdapter, options: { uiConfig: { boardTitle: 'sluice queues' } } });

  // This plugin's own context: the hook guards the board's routes only. It answers itself rather
  // than throwing: bull-board's plugin has an error handler of its own that would make a 401 a 500.
  app.addHook('onRequest', async (request, reply) => {
    try {
      if (request.method !== 'GET' && request.method !== 'HEAD') throw new SluiceError('NOT_FOUND', 'The queue board is read-only');
      auth.requireBoardAccess(request);
    } catch (e) {
      if (!(e instanceof SluiceError)) throw e;
      request.sluice.verdict = e.code;
      return sendError(reply, e);
    }
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BOARD_PATH });
};
