/**
 * The load side of bench/soak.ts. It runs in its own process so that its sockets, buffers and
 * event loop are not counted as sluice's memory and do not steal sluice's event loop. The parent
 * sends one `PhaseRequest` per phase over IPC; this process drives it with autocannon, checks
 * EVERY response body (a 200 must be byte-for-byte the sending tenant's own rows), and answers with
 * a `PhaseResult`. A `tick` with cumulative counts is sent every second for progress lines.
 */
import autocannon from 'autocannon';
import { LATE_MS } from './soak-report.js';

export interface Caller {
  token: string;
  tenant: number;
}

export interface PhaseRequest {
  type: 'phase';
  name: string;
  url: string;
  /** The /data body every request sends (the same SQL for every tenant; the rows differ). */
  body: string;
  connections: number;
  seconds: number;
  /** Requests per second over all connections; 0: each connection sends as soon as it has an answer. */
  overallRate: number;
  callers: Caller[];
  /** tenant → the exact response body a 200 must carry. */
  expected: Record<number, string>;
  seed: number;
}

export interface Counts {
  /** 200 with exactly the caller's own rows. */
  ok: number;
  /** 200 with anything else: a correctness failure. */
  wrong: number;
  /** 503 OVERLOADED: load shedding, expected under overload. */
  shed: number;
  /** 429 RATE_LIMITED / TENANT_BUSY. */
  limited: number;
  /** Any 5xx that is not 503 OVERLOADED: a failure. */
  other5xx: number;
  /** Anything else (a 4xx other than 429 for a valid request): a failure. */
  other: number;
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface PhaseResult {
  type: 'result';
  name: string;
  counts: Counts;
  /** Connection errors and timeouts as autocannon counts them: each is a failure. */
  errors: number;
  timeouts: number;
  latency: { ok: Latency; shed: Latency; all: Latency };
  /** 503s answered after LATE_MS or more: admitted, queued, then refused when their wait ran out. */
  lateShed: number;
  /** The first few unexpected answers, for the report. */
  samples: string[];
  /** CPU time of this load process during the phase, in % of one core. */
  cpuPct: number;
}

export interface Tick {
  type: 'tick';
  name: string;
  counts: Counts;
}

/** An exact latency recorder: a growable Float64Array, sorted once at the end. */
class Recorder {
  private values = new Float64Array(1 << 16);
  private n = 0;

  add(v: number): void {
    if (this.n === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.n++] = v;
  }

  summary(): Latency {
    const sorted = this.values.subarray(0, this.n).sort();
    const at = (q: number): number => (this.n === 0 ? 0 : sorted[Math.min(this.n - 1, Math.floor(q * this.n))]!);
    return { count: this.n, p50: at(0.5), p99: at(0.99), max: at(1) };
  }
}

/** mulberry32: a seeded PRNG, so the tenant sequence of a run can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CODE = /"code":"([A-Z_]+)"/;
/** The phase running now, so a `stop` message can end it early (the adaptive warm-up does). */
let running: autocannon.Instance | undefined;

async function runPhase(p: PhaseRequest): Promise<PhaseResult> {
  const counts: Counts = { ok: 0, wrong: 0, shed: 0, limited: 0, other5xx: 0, other: 0 };
  const samples: string[] = [];
  const rec = { ok: new Recorder(), shed: new Recorder(), all: new Recorder() };
  let lateShed = 0;
  const random = prng(p.seed);
  const note = (what: string): void => {
    if (samples.length < 5) samples.push(what.slice(0, 300));
  };

  function classify(status: number, body: string, tenant: number): void {
    if (status === 200) {
      if (body === p.expected[tenant]) counts.ok++;
      else {
        counts.wrong++;
        const owner = Object.entries(p.expected).find(([, b]) => b === body)?.[0];
        note(`tenant ${tenant} got ${owner === undefined ? 'an unexpected body' : `tenant ${owner}'s rows`}: ${body}`);
      }
      return;
    }
    const code = CODE.exec(body)?.[1];
    if (status === 503 && code === 'OVERLOADED') counts.shed++;
    else if (status === 429 && (code === 'RATE_LIMITED' || code === 'TENANT_BUSY')) counts.limited++;
    else {
      if (status >= 500) counts.other5xx++;
      else counts.other++;
      note(`${status} ${body}`);
    }
  }

  const tick = setInterval(() => process.send?.({ type: 'tick', name: p.name, counts: { ...counts } } satisfies Tick), 1000);
  const options: autocannon.Options = {
    url: p.url,
    connections: p.connections,
    duration: p.seconds,
    // Longer than any queue wait plus statement the soak config allows: a timeout is a real hang.
    timeout: 30,
    ...(p.overallRate > 0 && { overallRate: p.overallRate }),
    requests: [
      {
        method: 'POST',
        path: '/data',
        headers: { 'content-type': 'application/json' },
        body: p.body,
        // Each request picks a caller; the connection's context remembers whose answer comes back
        // (one request in flight per connection, and onResponse runs before the next setupRequest).
        setupRequest: (req, context) => {
          const caller = p.callers[Math.floor(random() * p.callers.length)]!;
          (context as { tenant?: number }).tenant = caller.tenant;
          return { ...req, headers: { ...req.headers, authorization: `Bearer ${caller.token}` } };
        },
        onResponse: (status, body, context) => classify(status, body, (context as { tenant: number }).tenant),
      },
    ],
  };
  const cpu = process.cpuUsage();
  const wall = performance.now();
  try {
    const r = await new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(options, (err: unknown, result) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(result)));
      running = instance;
      instance.on('response', (_client, status, _bytes, ms) => {
        rec.all.add(ms);
        if (status === 200) rec.ok.add(ms);
        else if (status === 503) {
          rec.shed.add(ms);
          if (ms >= LATE_MS) lateShed++;
        }
      });
    });
    const used = process.cpuUsage(cpu);
    const cpuPct = (100 * (used.user + used.system)) / 1000 / (performance.now() - wall);
    return { type: 'result', name: p.name, counts, errors: r.errors, timeouts: r.timeouts, latency: { ok: rec.ok.summary(), shed: rec.shed.summary(), all: rec.all.summary() }, lateShed, samples, cpuPct };
  } finally {
    running = undefined;
    clearInterval(tick);
  }
}

// The parent kills this process when it is done with it.
process.on('message', (m: PhaseRequest | { type: 'stop' }) => {
  if (m.type === 'stop') return void running?.stop();
  runPhase(m).then(
    (result) => process.send?.(result),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
process.send?.({ type: 'ready' });
