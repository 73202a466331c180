import { describe, expect, it } from 'vitest';
import { JSON_DEPTH_CAP, exceedsJsonDepth } from '../../src/json-depth.js';

/** `n` nested arrays around `inner`, built without recursion. */
function nested(n: number, inner: unknown = 1): unknown {
  let v = inner;
  for (let i = 0; i < n; i++) v = [v];
  return v;
}

describe('exceedsJsonDepth', () => {
  it('counts levels of arrays and objects, the outermost being 1', () => {
    expect(exceedsJsonDepth(1, 0)).toBe(false);
    expect(exceedsJsonDepth('[[[]]]', 0)).toBe(false);
    expect(exceedsJsonDepth(null, 0)).toBe(false);
    expect(exceedsJsonDepth([], 0)).toBe(true);
    expect(exceedsJsonDepth([], 1)).toBe(false);
    expect(exceedsJsonDepth({ a: [1] }, 1)).toBe(true);
    expect(exceedsJsonDepth({ a: [1] }, 2)).toBe(false);
    expect(exceedsJsonDepth({ sql: 'x', params: [[1, 2], [3]] }, 3)).toBe(false);
    expect(exceedsJsonDepth({ sql: 'x', params: [[1, 2], [[3]]] }, 3)).toBe(true);
  });

  it('finds the deep branch among shallow siblings, objects and arrays alike', () => {
    const wide = { a: [1, 2, 3], b: { c: { d: nested(10) } }, e: Array.from({ length: 1000 }, () => ({ x: 1 })) };
    expect(exceedsJsonDepth(wide, 13)).toBe(false);
    expect(exceedsJsonDepth(wide, 12)).toBe(true);
    let obj: unknown = 'leaf';
    for (let i = 0; i < 70; i++) obj = { k: obj };
    expect(exceedsJsonDepth({ ok: [1], deep: obj }, 64)).toBe(true);
    expect(exceedsJsonDepth({ ok: [1], deep: obj }, 71)).toBe(false);
  });

  it('is exact at the bound', () => {
    expect(exceedsJsonDepth(nested(JSON_DEPTH_CAP), JSON_DEPTH_CAP)).toBe(false);
    expect(exceedsJsonDepth(nested(JSON_DEPTH_CAP + 1), JSON_DEPTH_CAP)).toBe(true);
  });

  it('does not recurse: 200 000 levels, where JSON.stringify and structuredClone overflow', () => {
    const deep = JSON.parse(`${'['.repeat(200_000)}${']'.repeat(200_000)}`) as unknown;
    expect(() => JSON.stringify(deep)).toThrow(RangeError);
    expect(exceedsJsonDepth(deep, 64)).toBe(true);
    expect(exceedsJsonDepth(deep, 200_000)).toBe(false);
  });

  it('treats binary values and dates as leaves', () => {
    expect(exceedsJsonDepth([Buffer.from('[[[[')], 1)).toBe(false);
    expect(exceedsJsonDepth({ at: new Date(0), bytes: new Uint8Array(8) }, 1)).toBe(false);
  });
});
