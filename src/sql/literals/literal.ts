/**
 * The literals of a client's SQL, and what each `sql.literals` mode makes of them. A literal is
 * reported by kind and position only: its value is the very thing a refusal must never echo.
 * Booleans, NULL and DEFAULT are never reported (every mode accepts them), nor are placeholders.
 */
export type LiteralMode = 'allow' | 'refuse-strings' | 'refuse';

export const LITERAL_MODES = ['allow', 'refuse-strings', 'refuse'] as const satisfies readonly LiteralMode[];

export type LiteralKind = 'string' | 'date/time string' | 'bit string' | 'hex string' | 'integer' | 'decimal';

export interface Literal {
  kind: LiteralKind;
  /** 1-based, in characters (Unicode code points) of the SQL the client sent, as Postgres counts error positions. */
  position: number;
  /** Only for integers, and only so `refuse` can accept the integers 0 and 1: true when the text is exactly `0` or `1`. */
  zeroOrOne?: boolean;
}

const QUOTED: ReadonlySet<LiteralKind> = new Set(['string', 'date/time string', 'bit string', 'hex string']);

/** True when `mode` refuses the literal. */
export function refusedUnder(mode: LiteralMode, literal: Literal): boolean {
  switch (mode) {
    case 'allow':
      return false;
    case 'refuse-strings':
      return QUOTED.has(literal.kind);
    case 'refuse':
      return !(literal.kind === 'integer' && literal.zeroOrOne === true);
  }
}

/** The first literal `mode` refuses, or undefined. */
export function firstRefused(mode: LiteralMode, literals: readonly Literal[]): Literal | undefined {
  return literals.find((l) => refusedUnder(mode, l));
}

/** Words after which a quoted string is a date, time or interval value (`DATE '2024-01-01'`). */
export const DATE_TIME_WORDS: ReadonlySet<string> = new Set(['date', 'time', 'timestamp', 'timestamptz', 'timetz', 'datetime', 'interval']);

/** 1-based code-point position of UTF-16 index `index` of `sql`. */
export function codePointPosition(sql: string, index: number): number {
  let surrogates = 0;
  for (let i = 0; i < index; i++) {
    const c = sql.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const prev = sql.charCodeAt(i - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) surrogates++;
    }
  }
  return index - surrogates + 1;
}
