/**
 * node-sql-parser as a statement reader (MySQL/MariaDB): the DISTINCT-aggregate marking it needs,
 * its AST converted into our closed tree (from-parser.ts).
 */
import { createRequire } from 'node:module';
import { SluiceError } from '../../errors.js';
import { markDistinctAggregates } from './aggregate-distinct.js';
import { Converter, type ConvertOptions } from './from-parser.js';
import type { Statement } from './ir.js';

interface SqlParser {
  astify(sql: string, opt: { database: string }): unknown;
}

const require = createRequire(import.meta.url);
const parsers = new Map<string, SqlParser>();

function parserFor(database: string): SqlParser {
  let p = parsers.get(database);
  if (!p) {
    // One grammar per dialect (the full bundle is several times larger).
    const mod = require(`node-sql-parser/build/${database}`) as { Parser: new () => SqlParser };
    p = new mod.Parser();
    parsers.set(database, p);
  }
  return p;
}

/** Parse one statement; our walk and the parser recurse, so a stack overflow is the client's nesting. */
function parseRaw(database: string, sql: string): unknown {
  let raw: unknown;
  try {
    raw = parserFor(database).astify(markDistinctAggregates(sql, false), { database });
  } catch (e) {
    if (e instanceof RangeError) throw new SluiceError('FILTER_NESTING_EXCEEDED', 'The statement is nested too deeply');
    const message = e instanceof Error ? e.message.slice(0, 200) : String(e);
    throw new SluiceError('SQL_PARSE_ERROR', `The SQL does not parse (or uses syntax the gateway does not support): ${message}`);
  }
  if (Array.isArray(raw)) {
    if (raw.length !== 1) {
      throw new SluiceError(raw.length === 0 ? 'SQL_PARSE_ERROR' : 'STATEMENT_NOT_ALLOWED', raw.length === 0 ? 'The SQL is empty' : 'Exactly one statement is allowed');
    }
    raw = raw[0];
  }
  return raw;
}

export function nodeSqlParserReader(database: 'mariadb', opts: ConvertOptions, gatewayParams: boolean): (sql: string) => Statement {
  const converter = new Converter(opts, gatewayParams);
  return (sql) => converter.statement(parseRaw(database, sql));
}
