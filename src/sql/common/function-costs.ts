/**
 * What a function call costs in value size and in work the database may not interrupt, as data:
 * each dialect's allowlist gives every built-in a FunctionCost, and both walkers evaluate it here.
 *
 * Two dangers, found by running them (docs/security.md, "Statements the database cannot stop"):
 * - values that grow from small inputs (repeat, padding, array_fill, format widths, nested
 *   replace, escaping applied again and again): a growth rule says how large the result can be
 *   relative to the arguments (value-growth.ts);
 * - searches whose cost is |subject| × |pattern| in code that never checks for a cancel
 *   (Postgres strpos/replace/split_part/translate/btrim and LIKE, MariaDB LIKE/LOCATE/INSTR):
 *   such a pattern, search string, character set or separator must be short — literals and
 *   parameters only, at most limits.maxPatternLength characters in all (parameters are checked
 *   when they are bound: CheckedStatement.boundedParams).
 */
import type { Limits } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { ATOM, max, sum, times, type Growth } from './value-growth.js';

/** An argument built only from literals and parameters: at most `fixed` characters plus its parameters' values. */
export interface ShortValue {
  readonly fixed: number;
  /** Client parameters (0-based) whose values count toward the length. */
  readonly params: readonly number[];
}

export interface ArgInfo {
  readonly growth: Growth;
  /** Null unless the argument is made of literals and parameters only. */
  readonly short: ShortValue | null;
  /** The value of a plain string literal. */
  readonly literal?: string;
}

export type GrowthRule =
  /** Bounded by a constant, or by a bound the database enforces (numbers, hashes, dates, booleans). */
  | 'fixed'
  /** At most the sum of its arguments (concatenation, substrings, trims, case mapping, extraction…). */
  | 'sum'
  /** At most its largest argument (a choice between them). */
  | 'max'
  /** At most `times` × the sum of its arguments (escaping, encodings, formatting templates). */
  | { readonly times: number }
  /** concat_ws: the argument at `separator` is repeated between all the others. */
  | { readonly separator: number }
  /**
   * The `subject` with every match of `from` replaced by `to`: at most |to|/|from| times larger.
   * `sameLength`: only literals of equal byte length (MariaDB moves the rest of the string for
   * every other replacement: quadratic, and deaf to max_statement_time and KILL).
   */
  | { readonly replace: { readonly subject: number; readonly from: number; readonly to: number; readonly sameLength?: boolean } }
  /** Each element or match of the other arguments gains the (short) arguments at `by`: array_to_string's separator. */
  | { readonly scaled: readonly number[] }
  /** Capture groups of a (short) pattern, each at most the subject, quoted in an array. */
  | { readonly captures: { readonly subject: number; readonly pattern: number } }
  /** Never allowed: the reason is the refusal's message. */
  | { readonly refuse: string };

export interface FunctionCost {
  readonly growth: GrowthRule;
  /** Arguments that must be short (patterns, search strings, character sets, separators). */
  readonly short?: readonly number[];
}

export const SUM: FunctionCost = { growth: 'sum' };
export const FIXED: FunctionCost = { growth: 'fixed' };

export interface CostContext {
  readonly limits: Pick<Limits, 'maxPatternLength'>;
  /** Remember a bind-time check: `short`'s literals plus its parameters' values ≤ maxPatternLength. */
  bound(short: ShortValue): void;
}

/** The cost of `name`: its entry, or 'sum' for a function a deployment added with sql.allowFunctions. */
export function costOf(table: Readonly<Record<string, FunctionCost>>, name: string): FunctionCost {
  return Object.hasOwn(table, name) ? table[name]! : SUM;
}

function neverAllowed(name: string, reason: string): never {
  throw new SluiceError('FUNCTION_NOT_ALLOWED', `${name}() is not allowed: ${reason}`);
}

/** Refuse, with the reason, a function that is never allowed — whatever sql.allowFunctions says. */
export function refuseNeverAllowed(table: Readonly<Record<string, FunctionCost>>, name: string): void {
  const rule = costOf(table, name).growth;
  if (typeof rule === 'object' && 'refuse' in rule) neverAllowed(name, rule.refuse);
}

/** Every name of `names` with the same cost. */
export function costs(names: readonly string[], cost: FunctionCost): Record<string, FunctionCost> {
  return Object.fromEntries(names.map((n) => [n, cost]));
}

/** The longest the argument can be, once its parameters have passed their bind-time check. */
function shortLength(arg: ArgInfo, maxLength: number): number {
  const s = arg.short!;
  return s.params.length > 0 ? Math.max(s.fixed, maxLength) : s.fixed;
}

/**
 * Refuse an argument that is not short; remember its parameters for the bind-time check.
 * `what` names it in the message ("the pattern of LIKE", "argument 2 of strpos").
 */
export function requireShort(arg: ArgInfo | undefined, what: string, cc: CostContext): void {
  if (!arg) return;
  const limit = cc.limits.maxPatternLength;
  if (arg.short === null) {
    throw new SluiceError(
      'ARGUMENT_TOO_LONG',
      `${what} must be a literal or a parameter (or a concatenation of them), at most limits.maxPatternLength (${limit}) characters: searching with a longer one costs time the database does not interrupt`,
    );
  }
  if (arg.short.fixed > limit) throw new SluiceError('ARGUMENT_TOO_LONG', `${what} is longer than limits.maxPatternLength (${limit}) characters`);
  if (arg.short.params.length > 0) cc.bound(arg.short);
}

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

function replaceGrowth(rule: { subject: number; from: number; to: number; sameLength?: boolean }, args: readonly ArgInfo[], name: string, cc: CostContext): Growth {
  const subject = args[rule.subject];
  const from = args[rule.from];
  const to = args[rule.to];
  if (!subject || !from || !to) return sum(args.map((a) => a.growth));
  if (rule.sameLength) {
    if (from.literal === undefined || to.literal === undefined || from.literal === '' || utf8Length(from.literal) !== utf8Length(to.literal)) {
      throw new SluiceError(
        'FUNCTION_NOT_ALLOWED',
        `${name}() is only allowed with a literal search string and a literal replacement of the same length: any other replacement costs time quadratic in the value, which the database does not interrupt`,
      );
    }
    return subject.growth;
  }
  requireShort(from, `The search string of ${name}()`, cc);
  requireShort(to, `The replacement of ${name}()`, cc);
  // An empty search string replaces nothing; a parameter may be one character long.
  const fromLength = Math.max(1, from.literal?.length ?? 1);
  return times(subject.growth, Math.max(1, Math.ceil(shortLength(to, cc.limits.maxPatternLength) / fromLength)));
}

/** The growth of a call to `name` with `args`, refusing what the cost forbids. */
export function functionGrowth(name: string, cost: FunctionCost, args: readonly ArgInfo[], cc: CostContext): Growth {
  for (const i of cost.short ?? []) requireShort(args[i], `Argument ${i + 1} of ${name}()`, cc);
  const all = (): Growth => sum(args.map((a) => a.growth));
  const rule = cost.growth;
  if (rule === 'fixed') return ATOM;
  if (rule === 'sum') return all();
  if (rule === 'max') return max(args.map((a) => a.growth));
  if ('refuse' in rule) return neverAllowed(name, rule.refuse);
  if ('times' in rule) return times(all(), rule.times);
  if ('separator' in rule) {
    const sep = args[rule.separator];
    const others = args.filter((_, i) => i !== rule.separator);
    return sep ? sum([...others.map((a) => a.growth), times(sep.growth, Math.max(0, others.length - 1))]) : all();
  }
  if ('replace' in rule) return replaceGrowth(rule.replace, args, name, cc);
  if ('scaled' in rule) {
    let factor = 1;
    for (const i of rule.scaled) {
      const arg = args[i];
      if (!arg) continue;
      requireShort(arg, `Argument ${i + 1} of ${name}()`, cc);
      factor += shortLength(arg, cc.limits.maxPatternLength);
    }
    return times(sum(args.filter((_, i) => !rule.scaled.includes(i)).map((a) => a.growth)), factor);
  }
  const { subject, pattern } = rule.captures;
  const p = args[pattern];
  requireShort(p, `The pattern of ${name}()`, cc);
  // Each group needs at least "()"; every group, and the whole match, may copy the subject once.
  const groups = p ? Math.floor(shortLength(p, cc.limits.maxPatternLength) / 2) : 0;
  return times(args[subject]?.growth ?? ATOM, (1 + groups) * 2);
}
