/** What every end-to-end bench shares: settings from the environment, the load driver, CPU meters, formatting. */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createEngine } from '../src/engine.js';
import { memberPermissions } from '../test/helpers/test-config.js';
import { signToken, TEST_JWT_SECRET } from '../test/helpers/tokens.js';
import type { LoadResult, LoadSpec } from './load-client.js';
import { selfMeter, type Meter } from './proc-cpu.js';

export const DURATION = Number(process.env.BENCH_DURATION ?? 8);
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
// sluice's JIT needs several seconds of load before its CPU per request settles (docs/benchmarks.md).
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
export const THREADS = Number(process.env.BENCH_THREADS ?? 2);
export const PER_THREAD = Number(process.env.BENCH_POOL_PER_THREAD ?? 4);

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** CPU µs per answered request, by process; undefined: that process is not part of this target. */
export interface CpuSplit {
  gateway: number;
  database: number | undefined;
  redis: number | undefined;
}

export interface Run extends LoadResult {
  cpu: CpuSplit;
}

export interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

/** What is metered while the target is measured (the load generator never is: it is its own process). */
export interface Meters {
  gateway: Meter;
  database?: Meter;
  redis?: Meter;
}

/** The gateway is this process (the target runs in it); nothing else is metered. */
export const inProcess = (extra: Omit<Meters, 'gateway'> = {}): Meters => ({ gateway: selfMeter(), ...extra });

/**
 * Proves the target answers `body` with a row containing `expect`, warms it up, then measures it,
 * with the load generator in a child process and `meters` running over the measured seconds only.
 */
export async function measure(t: Target, body: Record<string, unknown>, expect: string, meters: Meters, probeMs = 5_000): Promise<Run> {
  const spec: LoadSpec = { url: t.url, headers: t.headers, body: JSON.stringify(body), expect, connections: CONNECTIONS, warmup: WARMUP, duration: DURATION, probeMs };
  const child = spawn(process.execPath, ['--import', TSX, LOAD_CLIENT, JSON.stringify(spec)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const all = [meters.gateway, meters.database, meters.redis];
  let result: LoadResult | undefined;
  let cpu: number[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    if (line === 'warm') {
      for (const m of all) await m?.start();
      child.stdin!.write('go\n');
    } else if (line.startsWith('{')) {
      cpu = await Promise.all(all.map((m) => m?.stop() ?? Promise.resolve(Number.NaN)));
      result = JSON.parse(line) as LoadResult;
    }
  }
  const code = await exited;
  if (!result) throw new Error(`${t.name}: the load generator exited (${code}) without a result`);
  const per = (us: number): number => us / Math.max(1, result!.requests);
  return { ...result, cpu: { gateway: per(cpu[0]!), database: meters.database ? per(cpu[1]!) : undefined, redis: meters.redis ? per(cpu[2]!) : undefined } };
}

export const fmt = (n: number, d = 1): string => n.toFixed(d).padStart(9);
export const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

/** Starts sluice on `config` (logger off), measures it as tenant 1 of the `member` role, closes it. */
export async function measureSluice(config: Record<string, unknown>, body: Record<string, unknown>, expect: string, meters: Meters = inProcess()): Promise<Run> {
  const engine = createEngine(config, { logger: false });
  const token = await signToken({ sub: 'bench', role: 'member', tenant_id: 1 }, { expiresIn: '2h' });
  try {
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    return await measure({ name: 'sluice', url, headers: { authorization: `Bearer ${token}` } }, body, expect, meters);
  } finally {
    await engine.close();
  }
}

const cpuCell = (us: number | undefined): string => (us === undefined ? '–'.padStart(9) : fmt(us, 0));
const total = (c: CpuSplit): number => c.gateway + (c.database ?? 0) + (c.redis ?? 0);

/** The table every e2e bench prints, then the ratios against the bare baseline. */
export function printComparison(label: string, bare: Run, sluice: Run): void {
  console.log('target        req/s    p50 ms    p99 ms   mean ms   non-2xx  errors | CPU µs/req:  gateway database    redis    total');
  for (const [name, r] of [['bare', bare], ['sluice', sluice]] as const) {
    const c = r.cpu;
    console.log(
      `${name.padEnd(8)}${fmt(r.rps, 0)}${fmt(r.p50)}${fmt(r.p99)}${fmt(r.mean, 2)}${String(r.non2xx).padStart(10)}${String(r.errors).padStart(8)} |            ${cpuCell(c.gateway)}${cpuCell(c.database)}${cpuCell(c.redis)}${fmt(total(c), 0)}`,
    );
  }
  console.log(`\nsluice/bare${label}: ${ratioLine(bare, sluice)}`);
  if (sluice.non2xx + sluice.errors + bare.non2xx + bare.errors > 0) console.log('WARNING: some requests failed; the numbers above are not comparable');
}

/** Throughput, latency and CPU ratios of one path, sluice over bare. */
export function ratioLine(bare: Run, sluice: Run): string {
  const db = bare.cpu.database !== undefined && sluice.cpu.database !== undefined && bare.cpu.database > 0 ? `, database ${ratio(sluice.cpu.database, bare.cpu.database)}` : '';
  return `throughput ${ratio(sluice.rps, bare.rps)}, p50 ${ratio(sluice.p50, bare.p50)}, p99 ${ratio(sluice.p99, bare.p99)}, CPU/req ${ratio(total(sluice.cpu), total(bare.cpu))} (gateway ${ratio(sluice.cpu.gateway, bare.cpu.gateway)}${db})`;
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
export async function measureBare(bare: BareTarget, body: Record<string, unknown>, expect: string, meters: Meters = inProcess()): Promise<Run> {
  try {
    return await measure({ name: 'bare proxy', url: bare.url, headers: {} }, body, expect, meters);
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
