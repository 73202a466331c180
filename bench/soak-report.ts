/** The soak's summary tables, its ratios against the baseline of the same run, and its verdict. */
import type { PhaseResult } from './soak-client.js';
import type { MemoryReport } from './soak-memory.js';

/** A 503 this slow waited in a line before it was refused (an edge refusal takes milliseconds). */
export const LATE_MS = 1000;

export interface PhaseReport {
  result: PhaseResult;
  seconds: number;
  connections: number;
  /** The sluice process's event-loop delay p99 during the phase. */
  eventLoopP99Ms: number;
  /** CPU of the sluice process (all its threads) during the phase, in % of one core. */
  cpuPct: number;
}

const col = (v: string | number, w: number): string => String(v).padStart(w);
const ms = (v: number): string => v.toFixed(1);
const x = (a: number, b: number): string => (b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a');

/** Prints the tables; returns the failures (empty: pass). */
export function printSummary(o: { reports: PhaseReport[]; sustainable: number; memory: MemoryReport; recoveryMax: number; crashes: string[] }): string[] {
  const failures: string[] = [...o.crashes];
  const warnings: string[] = [];
  const by = (name: string): PhaseReport => o.reports.find((r) => r.result.name === name)!;
  const base = by('baseline');
  const over = by('overload');
  const probe = by('probe');

  console.log('\nstatus histogram (every response body checked)');
  console.log('phase      secs  conns   200 own  200 wrong  503 OVERLOADED    429  other 5xx  other  conn err  timeouts    200/s  answers/s');
  for (const r of o.reports) {
    const c = r.result.counts;
    const all = c.ok + c.wrong + c.shed + c.limited + c.other5xx + c.other;
    console.log(
      `${r.result.name.padEnd(9)}${col(r.seconds, 5)}${col(r.connections, 7)}${col(c.ok, 10)}${col(c.wrong, 11)}${col(c.shed, 16)}${col(c.limited, 7)}` +
        `${col(c.other5xx, 11)}${col(c.other, 7)}${col(r.result.errors, 10)}${col(r.result.timeouts, 10)}${col((c.ok / r.seconds).toFixed(0), 9)}${col((all / r.seconds).toFixed(0), 11)}`,
    );
    if (c.wrong > 0) failures.push(`${r.result.name}: ${c.wrong} answers with rows that are not the caller's own`);
    if (c.other5xx > 0) failures.push(`${r.result.name}: ${c.other5xx} 5xx answers other than 503 OVERLOADED`);
    if (c.other > 0) failures.push(`${r.result.name}: ${c.other} unexpected 4xx answers to a valid request`);
    if (r.result.errors + r.result.timeouts > 0) failures.push(`${r.result.name}: ${r.result.errors} connection errors (${r.result.timeouts} timeouts)`);
    for (const s of r.result.samples) console.log(`    ${r.result.name} sample: ${s}`);
  }

  console.log('\nlatency, ms (ratios against the baseline of this run)');
  console.log('phase      p50 200   p99 200   p50 all   p99 all  p50 503  p99 503  event-loop p99    p50 ratio  p99 ratio');
  for (const r of [base, over, probe]) {
    const l = r.result.latency;
    console.log(
      `${r.result.name.padEnd(9)}${col(ms(l.ok.p50), 8)}${col(ms(l.ok.p99), 10)}${col(ms(l.all.p50), 10)}${col(ms(l.all.p99), 10)}${col(l.shed.count ? ms(l.shed.p50) : '-', 9)}${col(l.shed.count ? ms(l.shed.p99) : '-', 9)}` +
        `${col(ms(r.eventLoopP99Ms), 16)}${col(x(l.ok.p50, base.result.latency.ok.p50), 13)}${col(x(l.ok.p99, base.result.latency.ok.p99), 11)}`,
    );
  }

  console.log('\nCPU, % of one core (2 cores are shared by sluice, the load client, Postgres and anything else running)');
  console.log('phase      sluice  load client  sluice µs per answer');
  for (const r of [base, over, probe]) {
    const answers = Object.values(r.result.counts).reduce((a, b) => a + b, 0);
    console.log(`${r.result.name.padEnd(9)}${col(r.cpuPct.toFixed(0), 7)}${col(r.result.cpuPct.toFixed(0), 13)}${col(((r.cpuPct * 10_000 * r.seconds) / Math.max(1, answers)).toFixed(0), 22)}`);
  }

  const overAll = Object.values(over.result.counts).reduce((a, b) => a + b, 0) / over.seconds;
  const probeP50 = probe.result.latency.ok.p50 / base.result.latency.ok.p50;
  const recovered = probe.result.counts.ok > 0 && probeP50 <= o.recoveryMax;
  console.log(`\nsustainable rate S (baseline 200/s): ${o.sustainable.toFixed(0)} req/s`);
  console.log(`overload: answers ${x(overAll, o.sustainable)} S, of which 200 ${x(over.result.counts.ok / over.seconds, o.sustainable)} S; 503 share ${((100 * over.result.counts.shed) / Math.max(1, overAll * over.seconds)).toFixed(1)}%`);
  console.log(`overload: 503s after ≥ ${LATE_MS} ms (queued, then refused when the wait ran out): ${over.result.lateShed} of ${over.result.counts.shed}`);
  console.log(
    `probe after the overload vs baseline: throughput ${x(probe.result.counts.ok, base.result.counts.ok * (probe.seconds / base.seconds))}, ` +
      `p50 ${probeP50.toFixed(2)}×, p99 ${x(probe.result.latency.ok.p99, base.result.latency.ok.p99)} → ${recovered ? 'recovered' : 'NOT recovered'} (limit p50 ≤ ${o.recoveryMax}×)`,
  );
  if (probe.result.counts.ok === 0) failures.push('the probe after the overload got no 200 at all');
  else if (!recovered) failures.push(`probe p50 is ${probeP50.toFixed(2)}× the baseline p50 (limit ${o.recoveryMax}×)`);
  if (over.result.counts.shed === 0) warnings.push('the overload shed nothing: it was queued, not overloaded (raise SOAK_CONNECTIONS_X or lower SOAK_MAX_WAITING)');
  for (const r of [base, probe]) if (r.result.counts.shed + r.result.counts.limited > 0) warnings.push(`${r.result.name} was refused ${r.result.counts.shed + r.result.counts.limited} times: it is not a sustainable load`);

  const m = o.memory;
  console.log(`\nmemory of the sluice process (${m.samples} one-second samples; GC ${m.gcForced ? 'forced before each mark (--expose-gc), main thread only' : 'NOT forced (run node with --expose-gc)'})`);
  console.log('              before      peak     after   peak/before  after/before');
  console.log(`RSS MB     ${col(m.before.rssMb.toFixed(1), 9)}${col(m.peak.rssMb.toFixed(1), 10)}${col(m.after.rssMb.toFixed(1), 10)}${col(x(m.peak.rssMb, m.before.rssMb), 14)}${col(x(m.after.rssMb, m.before.rssMb), 14)}`);
  console.log(`heap MB    ${col(m.before.heapMb.toFixed(1), 9)}${col(m.peak.heapMb.toFixed(1), 10)}${col(m.after.heapMb.toFixed(1), 10)}${col(x(m.peak.heapMb, m.before.heapMb), 14)}${col(x(m.after.heapMb, m.before.heapMb), 14)}`);
  console.log(`open fds   ${col(m.before.fds ?? '-', 9)}${col('', 10)}${col(m.after.fds ?? '-', 10)}`);
  // Over a short overload the second half is still the climb to a steady state.
  const trend = over.seconds < 60 ? 'n/a (needs an overload of 60 s or more)' : `${m.rssTrendMbPerMin >= 0 ? '+' : ''}${m.rssTrendMbPerMin.toFixed(1)} MB/min`;
  console.log(`RSS trend over the second half of the overload: ${trend}`);
  if (m.before.fds !== undefined && m.after.fds !== undefined && m.after.fds > m.before.fds + 4) warnings.push(`open file descriptors grew from ${m.before.fds} to ${m.after.fds}`);
  for (const w of warnings) console.log(`WARNING: ${w}`);
  return failures;
}
