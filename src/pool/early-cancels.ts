/**
 * Cancels a worker thread received for job ids it is not running (yet). A cancel can overtake its
 * job: the broadcast and the piscina task travel on different ports. But every thread receives
 * every cancel, mostly for jobs running on other threads or already done, so what is remembered
 * must stay bounded: each entry expires after `ttlMs` (no job can start later than that after its
 * cancel: its deadline has passed and runJob refuses it) and at most `max` are held, oldest
 * dropped first.
 */
export interface EarlyCancels {
  add(jobId: string): void;
  /** true (once) if a cancel for `jobId` arrived within the TTL; the entry is consumed. */
  take(jobId: string): boolean;
  size(): number;
}

export interface EarlyCancelsOptions {
  ttlMs: number;
  max: number;
  now?: () => number;
}

export function createEarlyCancels(opts: EarlyCancelsOptions): EarlyCancels {
  const now = opts.now ?? Date.now;
  /** id → expiry. Every entry gets the same TTL, so insertion order is expiry order. */
  const entries = new Map<string, number>();

  function prune(t: number): void {
    for (const [id, expires] of entries) {
      if (expires > t && entries.size <= opts.max) return;
      entries.delete(id);
    }
  }

  return {
    add(jobId) {
      const t = now();
      // Re-inserted at the end, so the order stays the expiry order.
      entries.delete(jobId);
      entries.set(jobId, t + opts.ttlMs);
      prune(t);
    },
    take(jobId) {
      const expires = entries.get(jobId);
      if (expires === undefined) return false;
      entries.delete(jobId);
      return expires > now();
    },
    size: () => entries.size,
  };
}
