import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionConfig } from '../../src/config/types.js';
import type { Driver, PoolStats } from '../../src/drivers/driver.js';
import { SluiceError } from '../../src/errors.js';
import { silentLog } from '../../src/observability/log.js';
import { createDriverSet } from '../../src/pool/driver-set.js';

/** A fake of OUR Driver interface: only stats() and close() matter to the set. */
function fakeDriver(name: string, max: number, log: string[]): Driver & { busy: number } {
  const d = {
    busy: 0,
    stats: (): PoolStats => ({ max, active: d.busy, waiting: 0, open: d.busy }),
    close: async () => void log.push(`close ${name}`),
    execute: async () => ({ rows: [], rowCount: 0, truncated: false, acquireMs: 0, leaseMs: 0 }),
    executeBatch: async () => ({ results: [], acquireMs: 0, leaseMs: 0 }),
    cancel: async () => undefined,
    ping: async () => undefined,
  };
  return d;
}

const conn = (max: number): ConnectionConfig => ({ dialect: 'postgres', url: 'postgres://u@h/db', max, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 1000 });

describe('driver set: lazy pools, idle close, connection cap', () => {
  let now = 0;
  let log: string[];
  const created = new Map<string, ReturnType<typeof fakeDriver>>();
  beforeEach(() => {
    vi.useFakeTimers();
    now = 0;
    log = [];
    created.clear();
  });
  afterEach(() => vi.useRealTimers());

  function make(budget: number, idleCloseMs: number) {
    let n = 0;
    return createDriverSet(silentLog, {
      budget,
      idleCloseMs,
      now: () => now,
      create: (c) => {
        const name = `d${++n}`;
        const d = fakeDriver(name, c.max, log);
        created.set(name, d);
        log.push(`open ${name}`);
        return d;
      },
    });
  }

  it('opens a pool on first use and reuses it', () => {
    const set = make(Infinity, 0);
    const a = set.get('a', conn(2));
    expect(set.get('a', conn(2))).toBe(a);
    expect(log).toEqual(['open d1']);
  });

  it('past the cap, closes the least recently used idle pool; refuses with OVERLOADED when all are busy', () => {
    const set = make(4, 0);
    set.get('a', conn(2));
    now = 2000;
    set.get('b', conn(2));
    now = 4000;
    set.get('a', conn(2)); // a is now the most recently used
    now = 6000;
    set.get('c', conn(2));
    expect(log).toEqual(['open d1', 'open d2', 'close d2', 'open d3']);
    created.get('d1')!.busy = 1;
    created.get('d3')!.busy = 1;
    now = 8000;
    let err: unknown;
    try {
      set.get('d', conn(2));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('OVERLOADED');
    expect(set.entries().map(([name]) => name).sort()).toEqual(['a', 'c']);
  });

  it('never closes a pool used within the last second, even if idle', () => {
    const set = make(2, 0);
    set.get('a', conn(2));
    now = 500;
    expect(() => set.get('b', conn(2))).toThrow(/in use/);
  });

  it('closes pools unused for idleCloseMs, and reopens them on the next job', async () => {
    const set = make(Infinity, 60_000);
    set.get('a', conn(1));
    set.get('b', conn(1));
    now = 50_000;
    set.get('b', conn(1));
    now = 61_000;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(log).toContain('close d1');
    expect(log).not.toContain('close d2');
    set.get('a', conn(1));
    expect(log.at(-1)).toBe('open d3');
    await set.close();
  });
});
