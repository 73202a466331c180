/**
 * node-sql-parser as a statement reader (MySQL/MariaDB, and SQLite by default): the DISTINCT-aggregate
 * marking it needs, SQLite's ON CONFLICT split off first (upsert-split.ts, its grammar cannot read it),
 * its AST converted into our closed tree (from-parser.ts).
 */
import { createRequire } from 'node:module';
import { SluiceError } from '../../errors.js';
import { markDistinctAggregates } from './aggregate-distinct.js';
import { Converter, type ConvertOptions } from './from-parser.js';
import type { Statement } from './ir.js';
import { splitUpsert } from './upsert-split.js';

interface SqlParser {
  astify(sql: string, opt: { database: string }): unknown;
}

const require = createRequire(import.meta.url);
const parsers = new Map<string, SqlParser>();

export type NspDatabase = 'mariadb' | 'sqlite';

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
function parseRaw(database: NspDatabase, sql: string, bracketIdentifiers: boolean): unknown {
  let raw: unknown;
  try {
    raw = parserFor(database).astify(markDistinctAggregates(sql, bracketIdentifiers), { database });
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

/** The table name DO UPDATE's SET list is parsed against (never emitted). */
const UPSERT_TABLE = 'sluice_upsert';

export function nodeSqlParserReader(database: NspDatabase, opts: ConvertOptions, gatewayParams: boolean): (sql: string) => Statement {
  const converter = new Converter(opts, gatewayParams);
  // SQLite's [identifier] quoting (MySQL has none).
  const brackets = database === 'sqlite';
  return (sql) => {
    const split = opts.upsertClause ? splitUpsert(sql, brackets) : undefined;
    if (!split) return converter.statement(parseRaw(database, sql, brackets));
    const stmt = converter.statement(parseRaw(database, split.insert, brackets));
    if (stmt.k !== 'insert') throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'ON CONFLICT belongs to INSERT … VALUES');
    const target = split.target === undefined ? undefined : parseRaw(database, `SELECT ${split.target}`, brackets);
    const update = split.update === undefined ? undefined : parseRaw(database, `UPDATE ${UPSERT_TABLE} ${split.update}`, brackets);
    stmt.onConflict = [converter.onConflict(stmt, target, update, UPSERT_TABLE)];
    return stmt;
  };
}
