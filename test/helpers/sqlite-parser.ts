/**
 * The SQLite parser the SQLite suites run with: node-sql-parser (the default) unless the
 * `sqlite-cst` vitest project (vitest.config.ts) sets SLUICE_TEST_SQLITE_PARSER=sql-parser-cst,
 * which runs the same suites again on the opt-in parser. Expectations that differ are keyed by it.
 */
import type { SqliteParser } from '../../src/config/types.js';

function fromEnv(): SqliteParser {
  const v = process.env.SLUICE_TEST_SQLITE_PARSER;
  if (v === undefined || v === '' || v === 'node-sql-parser') return 'node-sql-parser';
  if (v === 'sql-parser-cst') return v;
  throw new Error(`SLUICE_TEST_SQLITE_PARSER must be node-sql-parser or sql-parser-cst, not ${v}`);
}

export const SQLITE_PARSER: SqliteParser = fromEnv();
export const SQLITE_CST = SQLITE_PARSER === 'sql-parser-cst';
