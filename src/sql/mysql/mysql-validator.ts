/**
 * MySQL/MariaDB: node-sql-parser's MariaDB grammar (a superset of what Drizzle's mysql-proxy sends:
 * backticks, `?`, LATERAL, json_arrayagg, ON DUPLICATE KEY UPDATE, and RETURNING for MariaDB),
 * checked and re-emitted by the shared dialect validator with backtick-quoted identifiers.
 */
import type { SluiceConfig } from '../../config/types.js';
import type { DialectSpec } from '../common/context.js';
import { createDialectValidator } from '../common/dialect-validator.js';
import { nodeSqlParserReader } from '../common/nsp-reader.js';
import type { CachedValidator } from '../validator.js';
import { MYSQL_CAST_TYPES, MYSQL_FUNCTIONS, MYSQL_SYSTEM_SCHEMAS } from './allowlists.js';
import { MYSQL_FUNCTION_COSTS } from './function-costs.js';

export const MYSQL_DIALECT: DialectSpec = {
  reader: (opts, gatewayParams) => nodeSqlParserReader('mariadb', opts, gatewayParams),
  placeholders: { hashComments: true, bracketIdentifiers: false, defaultMarker: true },
  convert: {
    doubleQuotedIsIdentifier: false,
    tableFunctions: new Set(),
    castTypes: MYSQL_CAST_TYPES,
    // MariaDB has INSERT/DELETE … RETURNING; MySQL answers it with a syntax error.
    returning: new Set(['insert', 'delete']),
    concatOperator: false,
    upsertClause: false,
  },
  functions: MYSQL_FUNCTIONS,
  costs: MYSQL_FUNCTION_COSTS,
  // BINARY(n) pads with zero bytes; CHAR(n) only truncates.
  paddedCasts: new Set(['BINARY']),
  quoteIdent: (name) => `\`${name.replaceAll('`', '``')}\``,
  blockedTable: (schema) => MYSQL_SYSTEM_SCHEMAS.has(schema.toLowerCase()),
  // JSON_CONTAINS('[1,2]', JSON_ARRAY(col)): MariaDB has no MEMBER OF.
  claimIn: (column, param) => ({ k: 'fn', name: 'json_contains', args: [param, { k: 'fn', name: 'json_array', args: [column] }] }),
  nullIsDefault: false,
  valuesFunction: true,
  // MariaDB/MySQL never merge a derived table with LIMIT, nor push outer conditions into it.
  fence: { limit: '18446744073709551615' },
  cteNamesInAllBodies: false,
  // MariaDB reads an outer CTE's name inside a nested WITH's CTE body as the table: refused (isCte).
  cteBodiesSeeOuterCtes: false,
};

export function createMysqlValidator(config: SluiceConfig, connection: string, tier?: string): CachedValidator {
  return createDialectValidator(MYSQL_DIALECT, config, connection, tier);
}
