/** What every end-to-end bench shares: settings from the environment, the load driver, formatting. */
import autocannon from 'autocannon';

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
