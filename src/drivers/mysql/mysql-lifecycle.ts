/**
 * Recycling and checkout validation for mysql2, whose pool has neither maxUses nor a lifetime:
 * each physical connection's age, lease count and idle start are tracked here, keyed by mysql2's
 * core connection (the promise wrapper is a new object on every getConnection()).
 *
 * - onCheckout: `retire` a connection whose lifetime ran out while it sat idle, `validate` one
 *   idle longer than validateAfterIdleMs (COM_PING before it is handed out), else `use`.
 * - onRelease: true when the lease just ended was its last (maxUses reached, or too old): the
 *   driver closes it instead of resetting and returning it.
 */
import type mysql from 'mysql2/promise';
import type { PoolLifecycle } from '../../config/types.js';
import { lifecycleOf } from '../common/pool-lifecycle.js';

interface Tracked {
  born: number;
  uses: number;
  /** When it went back to the pool; null while leased. */
  idleSince: number | null;
}

export interface MysqlLifecycle {
  onCheckout(c: mysql.PoolConnection): 'use' | 'validate' | 'retire';
  onRelease(c: mysql.PoolConnection): boolean;
}

/** The physical connection behind a promise wrapper: the key for per-connection state. */
export function keyOf(c: mysql.PoolConnection): object {
  return (c as unknown as { connection?: object }).connection ?? c;
}

export function createMysqlLifecycle(conn: PoolLifecycle): MysqlLifecycle {
  const { maxUses, maxLifetimeMs, validateAfterIdleMs } = lifecycleOf(conn);
  const tracked = new WeakMap<object, Tracked>();
  const expired = (t: Tracked, now: number): boolean => maxLifetimeMs > 0 && now - t.born >= maxLifetimeMs;

  return {
    onCheckout(c) {
      const now = performance.now();
      const t = tracked.get(keyOf(c));
      if (!t) {
        // First seen: just opened by this checkout (its age counts from here).
        tracked.set(keyOf(c), { born: now, uses: 0, idleSince: null });
        return 'use';
      }
      const idleSince = t.idleSince;
      t.idleSince = null;
      if (expired(t, now)) return 'retire';
      if (validateAfterIdleMs > 0 && idleSince !== null && now - idleSince > validateAfterIdleMs) return 'validate';
      return 'use';
    },
    onRelease(c) {
      const now = performance.now();
      const t = tracked.get(keyOf(c));
      if (!t) return false;
      t.uses++;
      t.idleSince = now;
      return (maxUses > 0 && t.uses >= maxUses) || expired(t, now);
    },
  };
}
