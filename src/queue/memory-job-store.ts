/**
 * The in-process store of async jobs: records by id, counted per owner, per tenant and in all
 * (job-quotas.ts). Admission refuses when a bound is full; a record leaves only when its result has
 * expired (resultTtlMs after it finished), never to make room.
 */
import type { ErrorBody } from '../errors.js';
import type { JobOwner } from './async-jobs.js';
import { ownerKey, quotaRefusal, type QuotaLimits } from './job-quotas.js';

export interface StoredRecord {
  owner: JobOwner;
  /** Infinity while queued or running. */
  expiresAt: number;
}

export interface MemoryJobStore<R extends StoredRecord> {
  /** Stores the record, or answers the refusal of the first full bound (and stores nothing). */
  admit(id: string, record: R): ErrorBody | undefined;
  /** The record, or undefined once it expired (it is then dropped). */
  get(id: string): R | undefined;
  /** The job finished: its result expires resultTtlMs from now. */
  finish(id: string): void;
  values(): IterableIterator<R>;
}

type Group = 'user' | 'tenant';

export function createMemoryJobStore<R extends StoredRecord>(limits: QuotaLimits, ttlMs: number, now: () => number): MemoryJobStore<R> {
  const records = new Map<string, R>();
  /** Finished jobs in finishing order, hence in expiry order: purging stops at the first live one. */
  const finished = new Map<string, R>();
  const groups: Record<Group, Map<string, Set<string>>> = { user: new Map(), tenant: new Map() };

  /** The user and tenant counts a record belongs to (a job without a tenant counts per user and in all). */
  function groupKeys(owner: JobOwner): Array<[Group, string]> {
    return owner.tenant === null ? [['user', ownerKey(owner)]] : [['user', ownerKey(owner)], ['tenant', owner.tenant]];
  }

  function remove(id: string, r: R): void {
    records.delete(id);
    finished.delete(id);
    for (const [group, key] of groupKeys(r.owner)) {
      const ids = groups[group].get(key);
      ids?.delete(id);
      if (ids?.size === 0) groups[group].delete(key);
    }
  }

  function purge(t: number): void {
    for (const [id, r] of finished) {
      if (r.expiresAt > t) break;
      remove(id, r);
    }
  }

  /** When the first of `ids` can expire: a finished job at its expiry, a live one ttl from now at the earliest. */
  function freesAt(ids: Iterable<string>, t: number): number {
    let at = t + ttlMs;
    for (const id of ids) at = Math.min(at, records.get(id)?.expiresAt ?? at);
    return at;
  }

  return {
    admit(id, record) {
      const t = now();
      purge(t);
      for (const [group, key] of groupKeys(record.owner)) {
        const ids = groups[group].get(key);
        if (ids && ids.size >= limits[group]) return quotaRefusal(group, limits, freesAt(ids, t), t);
      }
      if (records.size >= limits.total) {
        // The oldest finished job expires first (finishing order).
        const oldest = finished.keys().next();
        return quotaRefusal('total', limits, freesAt(oldest.done === true ? [] : [oldest.value], t), t);
      }
      records.set(id, record);
      for (const [group, key] of groupKeys(record.owner)) {
        let ids = groups[group].get(key);
        if (!ids) groups[group].set(key, (ids = new Set()));
        ids.add(id);
      }
      return undefined;
    },
    get(id) {
      const r = records.get(id);
      if (r && r.expiresAt <= now()) {
        remove(id, r);
        return undefined;
      }
      return r;
    },
    finish(id) {
      const r = records.get(id);
      if (!r) return;
      r.expiresAt = now() + ttlMs;
      finished.set(id, r);
    },
    values: () => records.values(),
  };
}
