import type { Node } from 'sql-parser-cst';
import { SluiceError } from '../../errors.js';

export function refuse(message: string): never {
  throw new SluiceError('CONSTRUCT_NOT_ALLOWED', message);
}

/** The default of every walker table: a node type sluice has not decided to support. */
export function refuseNode(node: Node): never {
  return refuse(`${node.type.replaceAll('_', ' ')} is not supported by the gateway`);
}

/** A keyword or a keyword sequence as one upper-case phrase (`[IS, NOT]` → `IS NOT`). */
export function keywords(kw: { name: string } | readonly { name: string }[] | string): string {
  if (typeof kw === 'string') return kw.toUpperCase();
  return (Array.isArray(kw) ? kw : [kw as { name: string }]).map((k) => k.name.toUpperCase()).join(' ');
}
