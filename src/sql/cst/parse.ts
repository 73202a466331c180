/**
 * One statement read by sql-parser-cst. Placeholders arrive already named (`:c1`, `:g1`, see
 * common/placeholders.ts), so `:name` is the only parameter form the parser accepts. Our walk and
 * the parser recurse: a stack overflow is the client's nesting. The package is loaded lazily (load.ts).
 */
import type { DialectName, Node } from 'sql-parser-cst';
import { SluiceError } from '../../errors.js';
import { loadCst } from './load.js';

export function parseOne(sql: string, dialect: DialectName): Node {
  const { parse } = loadCst();
  let statements: Node[];
  try {
    statements = parse(sql, { dialect, paramTypes: [':name'] }).statements;
  } catch (e) {
    if (e instanceof RangeError) throw new SluiceError('FILTER_NESTING_EXCEEDED', 'The statement is nested too deeply');
    const message = e instanceof Error ? (e.message.split('\n')[0] ?? '').slice(0, 200) : String(e);
    throw new SluiceError('SQL_PARSE_ERROR', `The SQL does not parse (or uses syntax the gateway does not support): ${message}`);
  }
  // `select 1;` is one statement followed by an empty one.
  const real = statements.filter((s) => s.type !== 'empty');
  if (real.length === 0) throw new SluiceError('SQL_PARSE_ERROR', 'The SQL is empty');
  if (real.length > 1) throw new SluiceError('STATEMENT_NOT_ALLOWED', 'Exactly one statement is allowed');
  return real[0]!;
}
