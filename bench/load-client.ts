/**
 * The load generator, in its own process so its CPU is never counted as the target's: probes the
 * target (retrying while it starts), warms it up, says "warm", waits for "go" on stdin (the parent
 * starts its CPU meters then), drives the measured run and prints the result as one JSON line.
 *
 *   node --import tsx bench/load-client.ts '<LoadSpec as JSON>'
 */
import autocannon from 'autocannon';
import { createInterface } from 'node:readline';

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** A 200 whose body lacks this is a failure (the probe proves the target answers correctly). */
  expect: string;
  connections: number;
  warmup: number;
  duration: number;
  /** How long the probe may retry while the target starts (ms). */
  probeMs: number;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  requests: number;
  non2xx: number;
  errors: number;
}

const spec = JSON.parse(process.argv[2]!) as LoadSpec;
const headers = { 'content-type': 'application/json', ...spec.headers };

async function probe(): Promise<void> {
  const until = Date.now() + spec.probeMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const res = await fetch(`${spec.url}/data`, { method: 'POST', headers, body: spec.body });
      const text = await res.text();
      if (res.ok && text.includes(spec.expect)) return;
      last = `${res.status}: ${text}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${spec.url} did not answer the probe: ${last}`);
}

async function drive(seconds: number): Promise<LoadResult> {
  const r = await autocannon({ url: `${spec.url}/data`, method: 'POST', connections: spec.connections, duration: seconds, headers, body: spec.body });
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.average, requests: r.requests.total, non2xx: r.non2xx, errors: r.errors };
}

async function main(): Promise<void> {
  await probe();
  if (spec.warmup > 0) await drive(spec.warmup);
  process.stdout.write('warm\n');
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === 'go') break;
  lines.close();
  process.stdout.write(`${JSON.stringify(await drive(spec.duration))}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
