/**
 * How large a value an expression can build, relative to its inputs — so that a few bytes of SQL
 * cannot make the database (or the gateway reading the answer) hold a value thousands of times
 * larger than anything the client sent or stored: nested replace(), self-concatenation through a
 * chain of CTEs, escaping applied again and again. Every dialect walker computes a Growth for each
 * expression from its arguments' (function-costs.ts says how per function) and refuses one over
 * `limits.maxValueGrowth`.
 *
 * The unit is the largest input value: a stored column value, a parameter, a literal, a number, a
 * value padded by a cast (bounded by limits.maxPadLength). A bound is `base` units, plus, inside a
 * recursive CTE's body, `self` times the value of the row being built: a body with `self > 1`
 * doubles (or more) per iteration, which no timeout reaches before the value is huge. Sizes are
 * upper bounds in characters; rows (aggregates, set-returning functions) are not counted here —
 * they cost time, which every database interrupts.
 */
import { SluiceError } from '../../errors.js';

export interface Growth {
  readonly base: number;
  readonly self: number;
}

/** One input value (a column, a parameter, a literal, a bounded result). */
export const ATOM: Growth = { base: 1, self: 0 };
/** The row a recursive CTE's body reads from itself. */
export const SELF: Growth = { base: 0, self: 1 };

export function sum(parts: readonly Growth[]): Growth {
  let base = 0;
  let self = 0;
  for (const g of parts) {
    base += g.base;
    self += g.self;
  }
  return parts.length === 0 ? ATOM : { base, self };
}

export function max(parts: readonly Growth[]): Growth {
  let base = 0;
  let self = 0;
  for (const g of parts) {
    base = Math.max(base, g.base);
    self = Math.max(self, g.self);
  }
  return parts.length === 0 ? ATOM : { base, self };
}

export function times(g: Growth, factor: number): Growth {
  return { base: g.base * factor, self: g.self * factor };
}

/** Refuse a value that may grow beyond `limit` times its largest input. */
export function checkGrowth(g: Growth, limit: number, what: string): Growth {
  if (g.base > limit || g.self > limit) {
    throw new SluiceError(
      'VALUE_GROWTH_EXCEEDED',
      `${what} could build a value more than limits.maxValueGrowth (${limit}) times larger than its inputs; nested or repeated growth (replace, concatenation through CTEs, escaping) is bounded`,
    );
  }
  return g;
}

/** A recursive CTE body may add to the row it reads (a path grows by a name), never multiply it. */
export function checkRecursiveGrowth(g: Growth, cte: string): void {
  if (g.self > 1) {
    throw new SluiceError(
      'VALUE_GROWTH_EXCEEDED',
      `The recursive CTE "${cte}" builds each row from more than one copy of the previous one: its values grow exponentially with each iteration`,
    );
  }
}
