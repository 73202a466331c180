/** What every end-to-end bench shares: settings from the environment, the load driver, formatting. */
import autocannon from 'autocannon';
import type { FastifyInstance } from 'fastify';
import { createEngine } from '../src/engine.js';
import { memberPermissions } from '../test/helpers/test-config.js';
import { signToken, TEST_JWT_SECRET } from '../test/helpers/tokens.js';

export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
export const THREADS = Number(process.env.BENCH_THREADS ?? 2);
export const PER_THREAD = Number(process.env.BENCH_POOL_PER_THREAD ?? 4);

export interface Run {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  non2xx: number;
  errors: number;
}

export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

async function drive(t: Target, body: string, seconds: number): Promise<Run> {
  const r = await autocannon({
    url: `${t.url}/data`,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...t.headers },
    body,
  });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average, non2xx: r.non2xx, errors: r.errors };
}

/** Proves the target answers `body` with a row containing `expect`, warms it up, then measures it. */
export async function measure(t: Target, body: Record<string, unknown>, expect: string): Promise<Run> {
  const text = JSON.stringify(body);
  const probe = await fetch(`${t.url}/data`, { method: 'POST', headers: { 'content-type': 'application/json', ...t.headers }, body: text });
  const answer = await probe.text();
  if (!probe.ok || !answer.includes(expect)) throw new Error(`${t.name} answered ${probe.status}: ${answer}`);
  if (WARMUP > 0) await drive(t, text, WARMUP);
  return drive(t, text, DURATION);
}

export const fmt = (n: number, d = 1): string => n.toFixed(d).padStart(9);
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

/** Starts sluice on `config` (logger off), measures it as tenant 1 of the `member` role, closes it. */
export async function measureSluice(config: Record<string, unknown>, body: Record<string, unknown>, expect: string): Promise<Run> {
  const engine = createEngine(config, { logger: false });
  const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
  try {
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    return await measure({ name: 'sluice', url, headers: { authorization: `Bearer ${token}` } }, body, expect);
  } finally {
    await engine.close();
  }
}

/** The table every e2e bench prints, then the ratios against the bare baseline. */
export function printComparison(label: string, bare: Run, sluice: Run): void {
  console.log('target        req/s    p50 ms    p99 ms   mean ms   non-2xx  errors');
  for (const [name, r] of [['bare', bare], ['sluice', sluice]] as const) {
    console.log(`${name.padEnd(8)}${fmt(r.rps, 0)}${fmt(r.p50)}${fmt(r.p99)}${fmt(r.mean, 2)}${String(r.non2xx).padStart(10)}${String(r.errors).padStart(8)}`);
  }
  console.log(`\nsluice/bare${label}: throughput ${ratio(sluice.rps, bare.rps)}, p50 ${ratio(sluice.p50, bare.p50)}, p99 ${ratio(sluice.p99, bare.p99)}`);
  if (sluice.non2xx + sluice.errors + bare.non2xx + bare.errors > 0) console.log('WARNING: some requests failed; the numbers above are not comparable');
}

/** A hand-written baseline proxy, listening on loopback. */
export interface BareTarget {
  url: string;
  close(): Promise<void>;
}

/** Listen on a free loopback port; `close` closes the app, then whatever else the proxy holds. */
export async function listenBare(app: FastifyInstance, release: () => unknown): Promise<BareTarget> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await release();
    },
  };
}

/** Measures the bare proxy (no token), then closes it. */
export async function measureBare(bare: BareTarget, body: Record<string, unknown>, expect: string): Promise<Run> {
  try {
    return await measure({ name: 'bare proxy', url: bare.url, headers: {} }, body, expect);
  } finally {
    await bare.close();
  }
}

/** The sluice config the MySQL and SQLite e2e benches run: the `member` role over one connection. */
export function memberBenchConfig(connection: unknown): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 0 },
    auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] }, claims: { role: 'role', tenant: 'tenant_id', user: 'sub' } },
    connections: { main: connection },
    limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
    workers: { threads: THREADS },
    logging: { level: 'silent' },
    permissions: memberPermissions(),
  };
}
