/**
 * The core of the in-process gateway — HTTP front, in-process queue, piscina pool; without the
 * decorators src/queue/queue-setup.ts adds around them (tenant lines, circuit breaker) — with the
 * piscina pool in the test's hands, so a fault test can terminate one of its worker threads.
 * Nothing here is reachable from the HTTP API.
 */
import { buildApp } from '../../src/http/app.js';
import { parseConfig } from '../../src/config/schema.js';
import { createPiscinaWorkerPool, type PiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import { createInProcessQueue } from '../../src/queue/in-process-queue.js';
import type { JobQueue } from '../../src/queue/job-queue.js';
import { createMemoryAsyncJobs } from '../../src/queue/memory-async-jobs.js';

export interface InProcessGateway {
  url: string;
  pool: PiscinaWorkerPool;
  queue: JobQueue;
  close(): Promise<void>;
}

export async function startInProcessGateway(rawConfig: Record<string, unknown>): Promise<InProcessGateway> {
  const config = parseConfig(rawConfig);
  const pool = createPiscinaWorkerPool(config);
  const queue = createInProcessQueue(config, pool);
  const jobs = createMemoryAsyncJobs(config, queue);
  const app = buildApp({ config, queue, pool, jobs, logger: false });
  const close = async (): Promise<void> => {
    try {
      await app.close();
    } finally {
      await Promise.allSettled([jobs.close(), queue.close()]);
      await pool.close();
    }
  };
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await close();
    throw err;
  }
  const address = app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('no address');
  return { url: `http://127.0.0.1:${address.port}`, pool, queue, close };
}
