import { describe, expect, it } from 'vitest';
import { SluiceError } from '../../../src/errors.js';
import { functionGrowth, type ArgInfo, type CostContext, type FunctionCost, type ShortValue } from '../../../src/sql/common/function-costs.js';
import { asInput, ATOM, checkGrowth, checkRecursiveGrowth, finishedRecursion, LITERAL, max, SELF, sum, times } from '../../../src/sql/common/value-growth.js';
import { BUILTIN_FUNCTIONS } from '../../../src/sql/postgres/allowlists.js';
import { PG_FUNCTION_COSTS } from '../../../src/sql/postgres/function-costs.js';
import { MYSQL_FUNCTIONS } from '../../../src/sql/mysql/allowlists.js';
import { MYSQL_FUNCTION_COSTS } from '../../../src/sql/mysql/function-costs.js';
import { SQLITE_FUNCTIONS } from '../../../src/sql/sqlite/allowlists.js';
import { SQLITE_FUNCTION_COSTS } from '../../../src/sql/sqlite/function-costs.js';

/** format() and ts_headline(): the Postgres walker decides their costs from the call (postgres/growth.ts). */
const PG_DECIDED_BY_CALL = new Set(['format', 'ts_headline']);

describe('function costs: every allowlisted function is classified', () => {
  it.each([
    ['postgres', [...BUILTIN_FUNCTIONS].filter((f) => !PG_DECIDED_BY_CALL.has(f)), PG_FUNCTION_COSTS],
    ['mysql', [...MYSQL_FUNCTIONS], MYSQL_FUNCTION_COSTS],
    ['sqlite', [...SQLITE_FUNCTIONS], SQLITE_FUNCTION_COSTS],
  ] as const)('%s', (_dialect, functions, costs) => {
    expect(functions.filter((f) => !Object.hasOwn(costs, f))).toEqual([]);
    // An allowlisted function is never one the costs refuse outright (that would be a dead entry).
    expect(functions.filter((f) => typeof costs[f]!.growth === 'object' && 'refuse' in (costs[f]!.growth as object))).toEqual([]);
  });

  it('the amplifiers the review found are refused on every dialect that has them', () => {
    const refused = (costs: Readonly<Record<string, FunctionCost>>, name: string): boolean => {
      const g = costs[name]?.growth;
      return typeof g === 'object' && 'refuse' in g;
    };
    for (const f of ['repeat', 'lpad', 'rpad', 'array_fill', 'jsonb_pretty', 'jsonb_path_query_array']) expect(refused(PG_FUNCTION_COSTS, f), f).toBe(true);
    for (const f of ['repeat', 'lpad', 'rpad', 'space', 'regexp_like', 'regexp_replace', 'regexp_instr', 'regexp_substr', 'json_search']) expect(refused(MYSQL_FUNCTION_COSTS, f), f).toBe(true);
    for (const f of ['randomblob', 'zeroblob', 'printf', 'format', 'replicate']) expect(refused(SQLITE_FUNCTION_COSTS, f), f).toBe(true);
  });
});

describe('value growth', () => {
  it('adds inputs, takes the largest literal text side by side, and multiplies', () => {
    expect(sum([ATOM, ATOM, { base: 3, text: 0, self: 1 }])).toEqual({ base: 5, text: 0, self: 1 });
    // The literals of one expression are different parts of the statement: together at most all of it.
    expect(sum([LITERAL, LITERAL, LITERAL, ATOM])).toEqual({ base: 1, text: 1, self: 0 });
    expect(sum([times(LITERAL, 4), LITERAL])).toEqual({ base: 0, text: 4, self: 0 });
    expect(max([ATOM, { base: 3, text: 0, self: 0 }, { base: 0, text: 2, self: 2 }])).toEqual({ base: 3, text: 2, self: 2 });
    expect(times({ base: 3, text: 1, self: 1 }, 4)).toEqual({ base: 12, text: 4, self: 4 });
    expect(sum([])).toEqual(ATOM);
    // Read through a column reference, a value may be read again: its text counts as input.
    expect(sum([asInput(times(LITERAL, 4)), asInput(times(LITERAL, 4))])).toEqual({ base: 8, text: 0, self: 0 });
    expect(finishedRecursion({ base: 2, text: 1, self: 1 })).toEqual({ base: 3, text: 0, self: 0 });
  });

  it('refuses beyond the limit, and a recursive row built from two copies of itself', () => {
    expect(checkGrowth({ base: 1000, text: 24, self: 0 }, 1024, 'x')).toEqual({ base: 1000, text: 24, self: 0 });
    expect(() => checkGrowth({ base: 1000, text: 25, self: 0 }, 1024, 'x')).toThrowError(expect.objectContaining({ code: 'VALUE_GROWTH_EXCEEDED', status: 400 }));
    expect(() => checkRecursiveGrowth(sum([SELF, ATOM, ATOM]), 'r')).not.toThrow();
    expect(() => checkRecursiveGrowth(sum([SELF, SELF]), 'r')).toThrowError(expect.objectContaining({ code: 'VALUE_GROWTH_EXCEEDED' }));
  });
});

describe('functionGrowth', () => {
  const bounds: ShortValue[] = [];
  const cc: CostContext = { limits: { maxPatternLength: 100 }, bound: (s) => bounds.push(s) };
  const col: ArgInfo = { growth: ATOM, short: null };
  const lit = (v: string): ArgInfo => ({ growth: LITERAL, short: { fixed: v.length, params: [] }, literal: v });
  const param = (i: number): ArgInfo => ({ growth: ATOM, short: { fixed: 0, params: [i] } });
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(SluiceError);
      return (e as SluiceError).code;
    }
    return 'accepted';
  };

  it('replace grows by |to| / |from|, with a short search string and replacement', () => {
    const replace: FunctionCost = { growth: { replace: { subject: 0, from: 1, to: 2 } } };
    expect(functionGrowth('replace', replace, [col, lit('a'), lit('aaaa')], cc)).toEqual({ base: 4, text: 0, self: 0 });
    expect(functionGrowth('replace', replace, [col, lit('aa'), lit('a')], cc)).toEqual(ATOM);
    expect(functionGrowth('replace', replace, [{ growth: { base: 8, text: 1, self: 0 }, short: null }, lit(''), lit('xy')], cc)).toEqual({ base: 16, text: 2, self: 0 });
    expect(functionGrowth('replace', replace, [lit('abc'), lit('a'), lit('xyz')], cc)).toEqual({ base: 0, text: 3, self: 0 });
    // A parameter replacement counts as its bind-time limit.
    bounds.length = 0;
    expect(functionGrowth('replace', replace, [col, param(0), param(1)], cc)).toEqual({ base: 100, text: 0, self: 0 });
    expect(bounds).toEqual([{ fixed: 0, params: [0] }, { fixed: 0, params: [1] }]);
    expect(code(() => functionGrowth('replace', replace, [col, lit('a'), col], cc))).toBe('ARGUMENT_TOO_LONG');
    expect(code(() => functionGrowth('replace', replace, [col, col, lit('a')], cc))).toBe('ARGUMENT_TOO_LONG');
    expect(code(() => functionGrowth('replace', replace, [col, lit('a'), lit('x'.repeat(101))], cc))).toBe('ARGUMENT_TOO_LONG');
  });

  it("MariaDB's replace only with literals of the same byte length", () => {
    const replace: FunctionCost = { growth: { replace: { subject: 0, from: 1, to: 2, sameLength: true } } };
    expect(functionGrowth('replace', replace, [col, lit(','), lit(';')], cc)).toEqual(ATOM);
    expect(code(() => functionGrowth('replace', replace, [col, lit('a'), lit('bb')], cc))).toBe('FUNCTION_NOT_ALLOWED');
    expect(code(() => functionGrowth('replace', replace, [col, lit('ab'), lit('c')], cc))).toBe('FUNCTION_NOT_ALLOWED');
    expect(code(() => functionGrowth('replace', replace, [col, lit('e'), lit('é')], cc))).toBe('FUNCTION_NOT_ALLOWED');
    expect(code(() => functionGrowth('replace', replace, [col, lit(''), lit('')], cc))).toBe('FUNCTION_NOT_ALLOWED');
    expect(code(() => functionGrowth('replace', replace, [col, param(0), param(1)], cc))).toBe('FUNCTION_NOT_ALLOWED');
  });

  it('separators, scaled arguments and captures', () => {
    // The separator is a literal, but printed twice: it counts as input for the repeats.
    expect(functionGrowth('concat_ws', { growth: { separator: 0 } }, [lit(','), col, col, col], cc)).toEqual({ base: 3, text: 2, self: 0 });
    expect(functionGrowth('array_to_string', { growth: { scaled: [1] } }, [col, lit(', ')], cc)).toEqual({ base: 3, text: 0, self: 0 });
    expect(code(() => functionGrowth('array_to_string', { growth: { scaled: [1] } }, [col, col], cc))).toBe('ARGUMENT_TOO_LONG');
    expect(functionGrowth('regexp_match', { growth: { captures: { subject: 0, pattern: 1 } } }, [col, lit('(a)(b)')], cc)).toEqual({ base: 8, text: 0, self: 0 });
  });

  it('short arguments: literals and parameters only, at most maxPatternLength', () => {
    const search: FunctionCost = { growth: 'fixed', short: [1] };
    bounds.length = 0;
    expect(functionGrowth('strpos', search, [col, { growth: ATOM, short: { fixed: 2, params: [3] } }], cc)).toEqual(ATOM);
    expect(bounds).toEqual([{ fixed: 2, params: [3] }]);
    expect(code(() => functionGrowth('strpos', search, [col, col], cc))).toBe('ARGUMENT_TOO_LONG');
    expect(code(() => functionGrowth('strpos', search, [col, lit('x'.repeat(100))], cc))).toBe('accepted');
    expect(code(() => functionGrowth('strpos', search, [col, lit('x'.repeat(101))], cc))).toBe('ARGUMENT_TOO_LONG');
    expect(code(() => functionGrowth('repeat', { growth: { refuse: 'sized' } }, [col, lit('3')], cc))).toBe('FUNCTION_NOT_ALLOWED');
  });
});
