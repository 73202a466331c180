/**
 * SQLite: node-sql-parser's SQLite grammar by default, or — opt-in, `sql.sqliteParser:
 * sql-parser-cst` (GPL-2.0-or-later, installed by the user; docs/parsers.md) — sql-parser-cst's
 * (src/sql/cst/), checked and re-emitted by the shared dialect validator with double-quoted
 * identifiers. node-sql-parser reads an unqualified "x" as a string; here it is an identifier (as
 * SQLite itself reads it, and better-sqlite3 builds SQLite without double-quoted string literals),
 * so it must name a column in reach like any other name.
 */
import type { SluiceConfig } from '../../config/types.js';
import type { DialectSpec } from '../common/context.js';
import { createDialectValidator } from '../common/dialect-validator.js';
import { nodeSqlParserReader } from '../common/nsp-reader.js';
import { cstReader } from '../cst/converter.js';
import type { CachedValidator } from '../validator.js';
import { SQLITE_CAST_TYPES, SQLITE_FUNCTIONS } from './allowlists.js';
import { SQLITE_FUNCTION_COSTS } from './function-costs.js';

export const SQLITE_DIALECT: DialectSpec = {
  reader: (opts, gatewayParams) => nodeSqlParserReader('sqlite', opts, gatewayParams),
  placeholders: { hashComments: false, bracketIdentifiers: true, defaultMarker: false },
  convert: {
    doubleQuotedIsIdentifier: true,
    tableFunctions: new Set(['json_each']),
    castTypes: SQLITE_CAST_TYPES,
    returning: new Set(['insert', 'update', 'delete']),
    concatOperator: true,
    upsertClause: true,
  },
  functions: SQLITE_FUNCTIONS,
  costs: SQLITE_FUNCTION_COSTS,
  paddedCasts: new Set(),
  quoteIdent: (name) => `"${name.replaceAll('"', '""')}"`,
  // Only the opened database ("main"): never temp or attached ones, never sqlite_* tables.
  blockedTable: (schema, table) => schema.toLowerCase() !== 'main' || table.toLowerCase().startsWith('sqlite_'),
  // col IN (SELECT value FROM json_each('[1,2]'))
  claimIn: (column, param) => ({
    k: 'bin',
    op: 'IN',
    l: column,
    r: {
      k: 'sub',
      q: {
        k: 'select',
        distinct: false,
        columns: [{ e: { k: 'col', name: 'value' } }],
        from: [{ k: 'tablefn', fn: { k: 'fn', name: 'json_each', args: [param] } }],
      },
    },
  }),
  nullIsDefault: true,
  valuesFunction: false,
  // SQLite never flattens a subquery with OFFSET, nor pushes outer WHERE terms into one with LIMIT.
  fence: { limit: '-1', offset: '0' },
  // SQLite reads a WITH list's later CTEs (and a body's own name) as those CTEs: refused (isCte).
  cteNamesInAllBodies: true,
  cteBodiesSeeOuterCtes: true,
};

/** The opt-in sql-parser-cst reader: the same dialect otherwise (the package is loaded on first use). */
export const SQLITE_CST_DIALECT: DialectSpec = { ...SQLITE_DIALECT, reader: (opts, gatewayParams) => cstReader('sqlite', opts, gatewayParams) };

export function createSqliteValidator(config: SluiceConfig, connection: string, tier?: string): CachedValidator {
  return createDialectValidator(config.sql.sqliteParser === 'sql-parser-cst' ? SQLITE_CST_DIALECT : SQLITE_DIALECT, config, connection, tier);
}
