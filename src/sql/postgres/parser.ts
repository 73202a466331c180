/** libpg-query is WASM: load it once per thread before parsing. */
import { loadModule, parseSync } from 'libpg-query';
import { SluiceError } from '../../errors.js';
import type { Node } from './ast.js';

let loaded: Promise<void> | null = null;

export function loadPostgresParser(): Promise<void> {
  loaded ??= loadModule().then(() => undefined);
  return loaded;
}

export interface ParsedSql {
  stmts: { stmt: Node; stmt_len?: number; stmt_location?: number }[];
  version: number;
}

export function parsePostgres(sql: string): ParsedSql {
  try {
    return parseSync(sql) as unknown as ParsedSql;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new SluiceError('SQL_PARSE_ERROR', `The SQL does not parse: ${message}`);
  }
}

const typeNames = new Map<string, unknown>();

/** The TypeName node exactly as the parser writes `$1::<type>` (some types gain pg_catalog.). */
export function parsedTypeName(type: string): unknown {
  let t = typeNames.get(type);
  if (t === undefined) {
    const stmt = parsePostgres(`SELECT $1::${type}`).stmts[0]!.stmt;
    const target = (stmt.SelectStmt!.targetList as Node[])[0]!.ResTarget!;
    t = (target.val as Node).TypeCast!.typeName;
    typeNames.set(type, t);
  }
  return structuredClone(t);
}
