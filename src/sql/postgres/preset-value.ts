/**
 * What the client wrote for a preset column (see sql/preset-check.ts): DEFAULT, one of its params
 * or a literal — with any cast — is something the gateway can compare with the preset when the
 * params are bound; anything else (an expression, a subquery) cannot be, and is refused.
 */
import { nodeType, type Body, type Node } from './ast.js';

export type SentValue =
  | { kind: 'default' }
  | { kind: 'client'; index: number }
  | { kind: 'literal'; value: string | number | boolean | null };

function constant(c: Body): SentValue | null {
  if (c.isnull === true) return { kind: 'literal', value: null };
  // libpg_query leaves zero and false values out: `{ ival: {} }` is 0, `{ boolval: {} }` false.
  const ival = c.ival as Body | undefined;
  if (ival) return { kind: 'literal', value: typeof ival.ival === 'number' ? ival.ival : 0 };
  const fval = c.fval as Body | undefined;
  if (fval && typeof fval.fval === 'string') return { kind: 'literal', value: fval.fval };
  const sval = c.sval as Body | undefined;
  if (sval) return { kind: 'literal', value: typeof sval.sval === 'string' ? sval.sval : '' };
  const boolval = c.boolval as Body | undefined;
  if (boolval) return { kind: 'literal', value: boolval.boolval === true };
  return null;
}

export function sentValue(n: Node | undefined): SentValue | null {
  switch (nodeType(n)) {
    case 'SetToDefault':
      return { kind: 'default' };
    case 'ParamRef': {
      const number = n!.ParamRef!.number;
      return typeof number === 'number' && Number.isInteger(number) && number >= 1 ? { kind: 'client', index: number - 1 } : null;
    }
    case 'A_Const':
      return constant(n!.A_Const!);
    case 'TypeCast': {
      const inner = sentValue(n!.TypeCast!.arg as Node | undefined);
      return inner === null || inner.kind === 'default' ? null : inner;
    }
    default:
      return null;
  }
}
