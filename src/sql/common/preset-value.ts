/**
 * What the client wrote for a preset column (see sql/preset-check.ts): DEFAULT (or, on SQLite,
 * NULL), one of its params or a literal — with any cast — is something the gateway can compare with
 * the preset when the params are bound; anything else (an expression, a subquery) is refused.
 */
import type { Expr } from './ir.js';

export type SentValue =
  | { kind: 'default' }
  | { kind: 'client'; index: number }
  | { kind: 'literal'; value: string | number | boolean | null };

const CLIENT_PARAM = /^c([1-9][0-9]*)$/;

export function sentValue(e: Expr | undefined, nullIsDefault: boolean): SentValue | null {
  switch (e?.k) {
    case 'default':
      return { kind: 'default' };
    case 'null':
      return nullIsDefault ? { kind: 'default' } : { kind: 'literal', value: null };
    case 'param': {
      const m = CLIENT_PARAM.exec(e.name);
      return m ? { kind: 'client', index: Number(m[1]) - 1 } : null;
    }
    case 'num':
    case 'str':
      return { kind: 'literal', value: e.v };
    case 'bool':
      return { kind: 'literal', value: e.v };
    case 'cast': {
      const inner = sentValue(e.e, false);
      return inner === null || inner.kind === 'default' ? null : inner;
    }
    default:
      return null;
  }
}
