/** The per-connection LRU of named prepared statements (src/drivers/pg/pg-prepared.ts): which names it believes exist, and what it closes. */
import { describe, expect, it } from 'vitest';
import { PreparedStatements, preparedFor } from '../../src/drivers/pg/pg-prepared.js';

describe('PreparedStatements', () => {
  it('parses a text once, then only reuses its name', () => {
    const c = new PreparedStatements(10);
    const first = c.plan(['ctx', 'a']);
    expect(first.parse).toEqual([true, true]);
    expect(first.reused).toBe(false);
    c.settle(first, ['ctx', 'a'], 2);
    const again = c.plan(['ctx', 'a']);
    expect(again.names).toEqual(first.names);
    expect(again.parse).toEqual([false, false]);
    expect(again.reused).toBe(true);
    expect(again.closes).toEqual([]);
  });

  it('evicts the least recently used text and closes its name at the head of the next pipeline', () => {
    const c = new PreparedStatements(2);
    const p1 = c.plan(['a', 'b']);
    c.settle(p1, ['a', 'b'], 2);
    c.settle(c.plan(['a']), ['a'], 1); // a is now the most recent
    const p3 = c.plan(['c']);
    expect(p3.closes).toEqual([p1.names[1]]); // b went
    expect(c.entries().map(([t]) => t).sort()).toEqual(['a', 'c']);
  });

  it('never evicts a statement of the same pipeline: past the capacity, the rest run unnamed', () => {
    const c = new PreparedStatements(2);
    const p = c.plan(['a', 'b', 'c']);
    expect(p.names[2]).toBe('');
    expect(p.parse[2]).toBe(true);
    expect(p.closes).toEqual([]);
  });

  it('a repeated text in one pipeline is parsed once, and is not counted as reused from before', () => {
    const c = new PreparedStatements(5);
    const p = c.plan(['a', 'a']);
    expect(p.parse).toEqual([true, false]);
    expect(p.names[0]).toBe(p.names[1]);
    expect(p.reused).toBe(false);
  });

  it('after a failure at step k: earlier steps are kept, the failed and later new ones forgotten and closed next time', () => {
    const c = new PreparedStatements(10);
    const texts = ['ctx', 'a', 'b'];
    const p = c.plan(texts);
    c.settle(p, texts, 1);
    expect(c.entries().map(([t]) => t)).toEqual(['ctx']);
    const next = c.plan(['ctx']);
    expect(next.closes.sort()).toEqual([p.names[1], p.names[2]].sort());
    expect(next.parse).toEqual([false]);
  });

  it('clear() forgets every name and closes them all next time', () => {
    const c = new PreparedStatements(10);
    const p = c.plan(['a', 'b']);
    c.settle(p, ['a', 'b'], 2);
    c.clear();
    const next = c.plan(['a']);
    expect(next.parse).toEqual([true]);
    expect(next.closes.sort()).toEqual([...p.names].sort());
    expect(next.names[0]).not.toBe(p.names[0]);
  });

  it('names are sluice_ names only', () => {
    const p = new PreparedStatements(3).plan(['a', 'b']);
    for (const n of p.names) expect(n).toMatch(/^sluice_[0-9a-z]+$/);
  });

  it('preparedFor: one cache per client, none when the capacity is 0', () => {
    const client = {};
    expect(preparedFor(client, 0)).toBeUndefined();
    expect(preparedFor(client, 5)).toBe(preparedFor(client, 5));
    expect(preparedFor({}, 5)).not.toBe(preparedFor(client, 5));
  });
});

describe('config: connections.<name>.preparedStatements (Postgres)', async () => {
  const { connectionSchema } = await import('../../src/config/connection-schema.js');
  const url = 'postgres://u@127.0.0.1:5432/db';

  it('absent: not in the normalized config (the driver default applies); set: kept, and parses to itself again', () => {
    expect(connectionSchema.parse({ url })).not.toHaveProperty('preparedStatements');
    const set = connectionSchema.parse({ url, preparedStatements: 0 });
    expect(set).toMatchObject({ preparedStatements: 0 });
    expect(connectionSchema.parse(set)).toEqual(set);
  });

  it('refuses what is not a count in 0–10000, and the key on other dialects', () => {
    for (const bad of [-1, 10_001, 1.5, 'many']) expect(connectionSchema.safeParse({ url, preparedStatements: bad }).success).toBe(false);
    expect(connectionSchema.safeParse({ url: 'mysql://u@127.0.0.1:3306/db', preparedStatements: 10 }).success).toBe(false);
  });
});
