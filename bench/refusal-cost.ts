/**
 * What one overload refusal costs the gateway: CPU µs per `503 OVERLOADED` answered by the /data
 * route when the queue refuses everything at the edge (`JobQueue.refusal`). The app is the real
 * one (buildApp: every hook, the token check with its cache, metrics, the error shape); only the
 * queue is a stand-in that is always full, so no database is involved and the number is the
 * HTTP thread's own. The load (autocannon, keep-alive, the soak's body and 32 tokens) runs in a
 * child process and is not counted.
 *
 * REFUSAL_MODE=inject measures the same through `app.inject` instead (no sockets, no HTTP parser,
 * no load process): steadier on a busy machine, since the CPU per refusal is measured in one
 * CPU-bound process rather than across two that wait for each other.
 *
 *   node --import tsx bench/refusal-cost.ts            REFUSAL_SECONDS=5, REFUSAL_CONNECTIONS=64
 *   REFUSAL_MODE=inject node --import tsx bench/refusal-cost.ts
 */
import { fork } from 'node:child_process';
import autocannon from 'autocannon';
import { buildApp } from '../src/http/app.js';
import { parseConfig } from '../src/config/schema.js';
import type { JobQueue } from '../src/queue/job-queue.js';
import { failure } from '../src/queue/refusals.js';
import { testConfig } from '../test/helpers/test-config.js';
import { signToken } from '../test/helpers/tokens.js';

const SECONDS = Number(process.env.REFUSAL_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.REFUSAL_WARMUP_SECONDS ?? 3);
const CONNECTIONS = Number(process.env.REFUSAL_CONNECTIONS ?? 64);
const BODY = JSON.stringify({ sql: 'select "id", "tenant_id", "name" from "customers" order by "id"', params: [], method: 'all' });

interface Drive {
  url: string;
  tokens: string[];
  seconds: number;
}

/** The child: drives the app and reports how many answers of which status it saw. */
async function client(d: Drive): Promise<{ answers: number; overloaded: number; other: number }> {
  let next = 0;
  let overloaded = 0;
  let other = 0;
  const res = await autocannon({
    url: `${d.url}/data`,
    connections: CONNECTIONS,
    duration: d.seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${d.tokens[next++ % d.tokens.length]}` } }),
        onResponse: (status, body) => {
          if (status === 503 && body.includes('"OVERLOADED"')) overloaded++;
          else other++;
        },
      },
    ],
  });
  console.error(`client: ${res.requests.total} req, errors ${res.errors}, timeouts ${res.timeouts}, p50 ${res.latency.p50} p99 ${res.latency.p99} max ${res.latency.max}, cpu ${JSON.stringify(process.cpuUsage())}`);
  return { answers: overloaded + other, overloaded, other };
}

function drive(d: Drive): Promise<{ answers: number; overloaded: number; other: number }> {
  const child = fork(new URL(import.meta.url), ['client'], { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { answers: number; overloaded: number; other: number }) => {
      child.kill();
      resolve(m);
    });
    child.once('exit', (code) => reject(new Error(`load client exited with ${code}`)));
    child.send(d);
  });
}

/** `app.inject` in batches of CONNECTIONS concurrent requests, for WARMUP_SECONDS and then SECONDS. */
async function injected(app: ReturnType<typeof buildApp>, tokens: string[]): Promise<void> {
  let n = 0;
  let other = 0;
  const batch = async (): Promise<void> => {
    const answers = await Promise.all(
      Array.from({ length: CONNECTIONS }, () =>
        app.inject({ method: 'POST', url: '/data', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[n++ % tokens.length]}` }, payload: BODY }),
      ),
    );
    for (const a of answers) if (a.statusCode !== 503 || !a.body.includes('"OVERLOADED"')) other++;
  };
  const until = (s: number): number => performance.now() + s * 1000;
  for (const end = until(WARMUP_SECONDS); performance.now() < end; ) await batch();
  n = 0;
  const cpu = process.cpuUsage();
  const wall = performance.now();
  for (const end = until(SECONDS); performance.now() < end; ) await batch();
  const used = process.cpuUsage(cpu);
  const s = (performance.now() - wall) / 1000;
  console.log(`inject refusals: ${n} (other answers ${other}) in ${s.toFixed(1)} s; CPU ${(((used.user + used.system) / 10_000) / s).toFixed(0)}% of a core, **${((used.user + used.system) / n).toFixed(1)} µs per answer**`);
  if (other > 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  const config = parseConfig(testConfig('public'));
  const full: JobQueue = {
    submit: async () => failure('OVERLOADED', undefined, 1),
    refusal: () => failure('OVERLOADED', undefined, 1),
    stats: () => ({ waiting: 64, running: 8 }),
    close: async () => undefined,
  };
  const app = buildApp({ config, queue: full, pool: { ping: async () => undefined, breakerStates: () => ({}) } as never, logger: false });
  const tokens = await Promise.all(Array.from({ length: 32 }, (_, i) => signToken({ sub: `r-${i}`, role: 'member', tenant_id: 1 + (i % 16) }, { expiresIn: '1h' })));
  if (process.env.REFUSAL_MODE === 'inject') {
    try {
      return await injected(app, tokens);
    } finally {
      await app.close();
    }
  }
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    await drive({ url, tokens, seconds: WARMUP_SECONDS });
    const cpu = process.cpuUsage();
    const wall = performance.now();
    const r = await drive({ url, tokens, seconds: SECONDS });
    const used = process.cpuUsage(cpu);
    const us = used.user + used.system;
    const s = (performance.now() - wall) / 1000;
    console.log(
      `refusals: ${r.overloaded} (other answers ${r.other}) in ${s.toFixed(1)} s = ${(r.answers / s).toFixed(0)}/s; ` +
        `gateway CPU ${(us / 10_000 / s).toFixed(0)}% of a core, **${(us / Math.max(1, r.answers)).toFixed(1)} µs per answer**`,
    );
    if (r.other > 0) process.exitCode = 1;
  } finally {
    await app.close();
  }
}

if (process.argv[2] === 'client') {
  process.once('message', (d: Drive) => {
    client(d).then(
      (r) => process.send?.(r),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  });
} else {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
