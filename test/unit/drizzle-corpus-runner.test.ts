/**
 * The corpus harness itself (test/helpers/drizzle-corpus/run-corpus.ts): it must be able to fail.
 * Fake sides stand in for the two drivers; no database is involved.
 */
import { describe, expect, it } from 'vitest';
import type { CorpusCase } from '../helpers/drizzle-corpus/corpus-case.js';
import { normalize, sameAnswer } from '../helpers/drizzle-corpus/normalize.js';
import { SluiceAnswerError, type CapturedStatement } from '../helpers/drizzle-corpus/proxy-clients.js';
import { PASS, runCase, type CorpusTarget } from '../helpers/drizzle-corpus/run-corpus.js';

interface FakeSide {
  side: 'sluice' | 'native';
}

function fakeTarget(dumps: { sluice: unknown; native: unknown } = { sluice: [1], native: [1] }) {
  const recorded: CapturedStatement[] = [];
  const target: CorpusTarget<FakeSide> & { reseeds: number } = {
    sluice: { side: 'sluice' },
    native: { side: 'native' },
    recorded,
    reseeds: 0,
    stableSql: (sql) => sql.replaceAll('db_123', '{{schema}}'),
    dump: async (side) => dumps[side],
    reseed: async () => {
      target.reseeds++;
    },
  };
  return target;
}

const run = (c: CorpusCase<FakeSide>, target = fakeTarget()) => runCase(c, target);

describe('Drizzle corpus runner', () => {
  it('passes when both sides answer the same', async () => {
    expect((await run({ name: 'same', run: () => [{ id: 1 }] })).code).toBe(PASS);
  });

  it('reports RESULT_DIFFERS when the answers differ', async () => {
    const outcome = await run({ name: 'differs', run: ({ side }) => [{ id: side === 'sluice' ? '1' : 1 }] });
    expect(outcome.code).toBe('RESULT_DIFFERS');
    expect(outcome.detail).toContain('"1"');
  });

  it("reports the gateway's error code, also when Drizzle wrapped it", async () => {
    const refused = new SluiceAnswerError(403, 'CONSTRUCT_NOT_ALLOWED', 'no');
    const outcome = await run({
      name: 'refused',
      run: ({ side }) => (side === 'sluice' ? Promise.reject(Object.assign(new Error('Failed query'), { cause: refused })) : [1]),
    });
    expect(outcome.code).toBe('CONSTRUCT_NOT_ALLOWED');
  });

  it('reports DRIZZLE_THREW when the answer broke the driver', async () => {
    expect((await run({ name: 'threw', run: ({ side }) => (side === 'sluice' ? Promise.reject(new TypeError('x is not iterable')) : [1]) })).code).toBe('DRIZZLE_THREW');
  });

  it('a case that fails on the native driver is a corpus bug, never a result', async () => {
    await expect(run({ name: 'broken', run: ({ side }) => (side === 'native' ? Promise.reject(new Error('syntax')) : [1]) })).rejects.toThrow(/corpus bug/);
  });

  it('a write with equal answers but different tables afterwards is STATE_DIFFERS, and both sides are reseeded', async () => {
    const target = fakeTarget({ sluice: { t: [1] }, native: { t: [1, 2] } });
    const outcome = await run({ name: 'write', write: true, run: () => [] }, target);
    expect(outcome.code).toBe('STATE_DIFFERS');
    expect(target.reseeds).toBe(1);
  });

  it('a failing write reseeds; a passing one does not', async () => {
    const target = fakeTarget();
    await run({ name: 'ok write', write: true, run: () => [] }, target);
    expect(target.reseeds).toBe(0);
    await run({ name: 'bad write', write: true, run: ({ side }) => (side === 'sluice' ? Promise.reject(new Error('x')) : []) }, target);
    expect(target.reseeds).toBe(1);
  });

  it('records what the sluice side posted during the case, with per-run names made stable', async () => {
    const target = fakeTarget();
    const outcome = await run(
      {
        name: 'records',
        run: ({ side }) => {
          if (side === 'sluice') target.recorded.push({ sql: 'select 1 from `db_123`.`t`', params: [], method: 'all' });
          return 1;
        },
      },
      target,
    );
    expect(outcome.statements).toEqual([{ method: 'all', sql: 'select 1 from `{{schema}}`.`t`' }]);
  });

  it('compares rows as multisets only when the case says its order is not fixed', async () => {
    const swapped = ({ side }: FakeSide) => (side === 'sluice' ? [1, 2] : [2, 1]);
    expect((await run({ name: 'ordered', run: swapped })).code).toBe('RESULT_DIFFERS');
    expect((await run({ name: 'unordered', unordered: true, run: swapped })).code).toBe(PASS);
  });

  it('normalizes values the two drivers represent differently, and nothing else', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(normalize({ a: new Date(now + 1000), b: new Date('2024-01-02T03:04:05Z'), c: 5n, d: Buffer.from([1, 255]), e: undefined }, now)).toEqual({
      a: '<recent>',
      b: '2024-01-02T03:04:05.000Z',
      c: '5n',
      d: { bytes: '01ff' },
      e: '<undefined>',
    });
    expect(sameAnswer(normalize([{ n: 1 }]), normalize([{ n: '1' }]))).toBe(false);
    expect(sameAnswer(normalize(null), normalize(undefined))).toBe(false);
  });
});
