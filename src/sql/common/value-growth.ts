/**
 * How large a value an expression can build, relative to its inputs — so that a few bytes of SQL
 * cannot make the database (or the gateway reading the answer) hold a value thousands of times
 * larger than anything the client sent or stored: nested replace(), self-concatenation through a
 * chain of CTEs, escaping applied again and again. Every dialect walker computes a Growth for each
 * expression from its arguments' (function-costs.ts says how per function) and refuses one over
 * `limits.maxValueGrowth`.
 *
 * The unit is the largest input value — a stored column value, a parameter, a value padded by a
 * cast (bounded by limits.maxPadLength) — or the statement's text, whichever is larger. A bound is
 *   base × (largest input) + text × (the statement's text) + self × (a recursive CTE's own row):
 * - literals are text: the literals of one expression occupy different parts of the statement, so
 *   side by side they are at most the whole text (`text` combines by max under concatenation),
 *   while a value read through a column reference may be read many times (it becomes `base`);
 * - `self` is the row a recursive CTE's body reads from itself: a body with `self > 1` doubles (or
 *   more) per iteration, which no timeout reaches before the value is huge.
 * Sizes are upper bounds in characters; rows (aggregates, set-returning functions, joins) are not
 * counted here — they cost time, which every database interrupts.
 */
import { SluiceError } from '../../errors.js';

export interface Growth {
  readonly base: number;
  readonly text: number;
  readonly self: number;
}

/** One input value (a column, a parameter, a number, a bounded result). */
export const ATOM: Growth = { base: 1, text: 0, self: 0 };
/** A literal of the statement. */
export const LITERAL: Growth = { base: 0, text: 1, self: 0 };
/** The row a recursive CTE's body reads from itself. */
export const SELF: Growth = { base: 0, text: 0, self: 1 };

/** Side by side (concatenation): inputs add up, literal text does not (see above). */
export function sum(parts: readonly Growth[]): Growth {
  if (parts.length === 0) return ATOM;
  let base = 0;
  let text = 0;
  let self = 0;
  for (const g of parts) {
    base += g.base;
    text = Math.max(text, g.text);
    self += g.self;
  }
  return { base, text, self };
}

/** One of them (a choice). */
export function max(parts: readonly Growth[]): Growth {
  if (parts.length === 0) return ATOM;
  let base = 0;
  let text = 0;
  let self = 0;
  for (const g of parts) {
    base = Math.max(base, g.base);
    text = Math.max(text, g.text);
    self = Math.max(self, g.self);
  }
  return { base, text, self };
}

export function times(g: Growth, factor: number): Growth {
  return { base: g.base * factor, text: g.text * factor, self: g.self * factor };
}

/** A value read through a column reference: it may be read many times, so its literal text counts as input. */
export function asInput(g: Growth): Growth {
  return { base: g.base + g.text, text: 0, self: g.self };
}

/** A recursive CTE's finished rows, for the queries that read them: like stored values (see checkRecursiveGrowth). */
export function finishedRecursion(g: Growth): Growth {
  return { base: Math.max(g.base + g.text, g.self), text: 0, self: 0 };
}

/** Refuse a value that may grow beyond `limit` times its largest input (or the statement's text). */
export function checkGrowth(g: Growth, limit: number, what: string): Growth {
  if (g.base + g.text > limit || g.self > limit) {
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
