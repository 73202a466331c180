/**
 * `sluice worker` has no HTTP front; with `--metrics-port` (or observability.metrics.workerPort) it
 * serves GET /metrics on a bare node:http server: its pool and circuit-breaker gauges (the same
 * names as the front's) and the jobs it is running. Request, queue-wait and lease metrics are the
 * front's (`sluice api`): only it sees requests. Same token rule as the front's /metrics.
 * It also answers GET /healthz (the process answers) and GET /readyz (the front's readiness:
 * databases, Redis, breakers, not shutting down), without the token, for container health checks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { ERRORS, type ErrorCode } from '../errors.js';
import { metricsAuthError } from './metrics-token.js';
import { createPoolGauges, type PoolSource } from './pool-gauges.js';
import type { Readiness } from './readiness.js';

export interface WorkerMetricsOptions {
  pool: PoolSource;
  /** Jobs this worker process is running now. */
  running: () => number;
  token: string | undefined;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** false (observability.metrics.enabled: false): /metrics is a 404, the probes stay. */
  metrics?: boolean;
  /** GET /readyz; absent: 404. */
  readiness?: () => Promise<Readiness>;
}

export interface WorkerMetricsServer {
  readonly url: string;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, code: ErrorCode, message?: string): void {
  sendJson(res, ERRORS[code].status, { error: { code, message: message ?? ERRORS[code].message } });
}

export async function startWorkerMetricsServer(opts: WorkerMetricsOptions): Promise<WorkerMetricsServer> {
  const registry = new Registry();
  const poolGauges = createPoolGauges(registry, opts.pool);
  const running = new Gauge({ name: 'sluice_worker_running_jobs', help: 'Jobs this worker process is running', registers: [registry] });
  let rendering: Promise<string> | undefined;

  async function collect(): Promise<string> {
    running.set(opts.running());
    await poolGauges.refresh();
    return registry.metrics();
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/readyz' && opts.readiness) {
      const { status, body } = await opts.readiness();
      return sendJson(res, status, body);
    }
    if (req.method !== 'GET' || path !== '/metrics' || opts.metrics === false) return sendError(res, 'NOT_FOUND');
    const refused = metricsAuthError(req.headers.authorization, opts.token);
    if (refused !== undefined) return sendError(res, refused);
    rendering ??= collect().finally(() => {
      rendering = undefined;
    });
    const text = await rendering;
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendError(res, 'INTERNAL_ERROR');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive socket must not hold the worker's shutdown.
        server.closeAllConnections();
        registry.clear();
      });
      return closing;
    },
  };
}
