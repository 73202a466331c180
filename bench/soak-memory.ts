/**
 * Memory of the sluice process during the soak: RSS (all threads: HTTP, piscina workers, native
 * buffers) and the main thread's V8 heap, sampled every second; open file descriptors at the marks.
 * A mark forces a full GC first when node runs with --expose-gc, so before/after compare live
 * memory rather than garbage not yet collected. Worker threads' heaps are not forced (only RSS sees them).
 */
import { readdirSync } from 'node:fs';

export interface Sample {
  rssMb: number;
  heapMb: number;
}

export interface MemoryReport {
  gcForced: boolean;
  samples: number;
  /** Least-squares slope of RSS over the second half of the overload, MB per minute: a leak keeps it above 0. */
  rssTrendMbPerMin: number;
  before: Sample & { fds: number | undefined };
  peak: Sample;
  after: Sample & { fds: number | undefined };
}

const MB = 1024 * 1024;

function sample(): Sample {
  const m = process.memoryUsage();
  return { rssMb: m.rss / MB, heapMb: m.heapUsed / MB };
}

/** MB per minute from (seconds, MB) points. */
function slopePerMinute(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxy = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx === 0 ? 0 : (60 * sxy) / sxx;
}

function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

async function collect(): Promise<void> {
  if (globalThis.gc === undefined) return;
  // Twice, with a turn of the event loop between: weak references and finalizers need a second pass.
  globalThis.gc();
  await new Promise((r) => setImmediate(r));
  globalThis.gc();
}

export function startMemorySampler(intervalMs = 1000) {
  let latest = sample();
  let count = 1;
  let tracking = false;
  const peak: Sample = { rssMb: 0, heapMb: 0 };
  const marks: Record<string, Sample & { fds: number | undefined }> = {};
  /** (seconds since start, RSS MB) while tracking. */
  const rss: Array<[number, number]> = [];
  const start = performance.now();
  const timer = setInterval(() => {
    latest = sample();
    count++;
    if (tracking) {
      peak.rssMb = Math.max(peak.rssMb, latest.rssMb);
      peak.heapMb = Math.max(peak.heapMb, latest.heapMb);
      rss.push([(performance.now() - start) / 1000, latest.rssMb]);
    }
  }, intervalMs);
  return {
    latest: (): Sample => latest,
    /** 'before' also starts peak tracking. */
    async mark(name: 'before' | 'after'): Promise<void> {
      // Let the load client's closed sockets finish closing on this side too.
      await new Promise((r) => setTimeout(r, 300));
      await collect();
      marks[name] = { ...sample(), fds: openFds() };
      if (name === 'before') {
        tracking = true;
        peak.rssMb = marks[name].rssMb;
        peak.heapMb = marks[name].heapMb;
      }
    },
    endPeak(): void {
      tracking = false;
    },
    stop(): void {
      clearInterval(timer);
    },
    report(): MemoryReport {
      if (!marks.before || !marks.after) throw new Error('memory marks missing');
      // The first half is the climb to a steady state; the second half shows whether it keeps climbing.
      const rssTrendMbPerMin = slopePerMinute(rss.slice(Math.floor(rss.length / 2)));
      return { gcForced: globalThis.gc !== undefined, samples: count, rssTrendMbPerMin, before: marks.before, peak: { ...peak }, after: marks.after };
    },
  };
}
