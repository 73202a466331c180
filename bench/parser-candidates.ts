/**
 * The SQL parsers measured by bench/parsers.ts, behind one small interface: parse one statement
 * in a dialect (throwing on a syntax error), and say what the tree offers a fail-closed walker —
 * which objects carry no node kind, which literals carry no source position.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { init as initSqlparserRs, parse as parseSqlparserRs } from '@guanmingchiu/sqlparser-ts';
import { parse as parseCst } from 'sql-parser-cst';
import { markDistinctAggregates } from '../src/sql/common/aggregate-distinct.js';
import { namePlaceholders } from '../src/sql/common/placeholders.js';
import { MYSQL_DIALECT } from '../src/sql/mysql/mysql-validator.js';
import { SQLITE_DIALECT } from '../src/sql/sqlite/sqlite-validator.js';

export type BenchDialect = 'mysql' | 'sqlite';

export interface Literal {
  value: unknown;
  positioned: boolean;
}

export interface ParserCandidate {
  name: string;
  version: string;
  /** The dialect option passed for MySQL/MariaDB and SQLite. */
  grammar: Record<BenchDialect, string>;
  /** One parse, as a validator would call it; throws on a syntax error. */
  parse(sql: string, dialect: BenchDialect): unknown;
  /** The same parse with source positions switched on (when that is an option). */
  parseWithPositions(sql: string, dialect: BenchDialect): unknown;
  /** Number of statements the parse produced (several means a multi-statement string). */
  statements(tree: unknown): number;
  /** Items in the first statement's select list, when it is a plain SELECT. */
  selectItems(tree: unknown): number | undefined;
  literals(tree: unknown): Literal[];
  /** Objects in the tree with no node-kind field (a walker must know them by position). */
  untypedObjects(tree: unknown): { objects: number; untyped: number } | undefined;
}

type Json = Record<string, unknown>;

function* objects(value: unknown, skip: ReadonlySet<string> = new Set()): Generator<Json> {
  if (Array.isArray(value)) {
    for (const v of value) yield* objects(v, skip);
  } else if (value !== null && typeof value === 'object') {
    yield value as Json;
    for (const [k, v] of Object.entries(value)) if (!skip.has(k)) yield* objects(v, skip);
  }
}

/** Read from node_modules directly: not every package exports its package.json. */
function pkgVersion(name: string): string {
  return (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;
}

// --- node-sql-parser, as sluice calls it today -------------------------------------------------

interface NspParser {
  astify(sql: string, opt: { database: string; parseOptions?: { includeLocations: boolean } }): unknown;
}

const nsp: Record<BenchDialect, NspParser> = (() => {
  const require = createRequire(import.meta.url);
  const load = (db: string): NspParser => new (require(`node-sql-parser/build/${db}`) as { Parser: new () => NspParser }).Parser();
  return { mysql: load('mariadb'), sqlite: load('sqlite') };
})();

const NSP_SPEC = { mysql: MYSQL_DIALECT, sqlite: SQLITE_DIALECT };
// Not double_quote_string: for SQLite that is how this grammar returns a "quoted" identifier.
const NSP_LITERALS = new Set(['single_quote_string', 'natural_string', 'hex_string', 'full_hex_string', 'bit_string', 'number', 'bool', 'boolean', 'null', 'string']);

/** sluice's own preprocessing before node-sql-parser: `?` named, DISTINCT aggregates marked. */
function nspInput(sql: string, dialect: BenchDialect): string {
  const spec = NSP_SPEC[dialect];
  return markDistinctAggregates(namePlaceholders(sql, spec.placeholders).sql, spec.placeholders.bracketIdentifiers);
}

const asList = (tree: unknown): unknown[] => (Array.isArray(tree) ? tree : [tree]);

export const nodeSqlParser: ParserCandidate = {
  name: 'node-sql-parser',
  version: pkgVersion('node-sql-parser'),
  grammar: { mysql: 'mariadb', sqlite: 'sqlite' },
  parse: (sql, dialect) => nsp[dialect].astify(nspInput(sql, dialect), { database: nodeSqlParser.grammar[dialect] }),
  parseWithPositions: (sql, dialect) => nsp[dialect].astify(nspInput(sql, dialect), { database: nodeSqlParser.grammar[dialect], parseOptions: { includeLocations: true } }),
  statements: (tree) => asList(tree).length,
  selectItems: (tree) => {
    const first = asList(tree)[0] as { type?: string; columns?: unknown } | undefined;
    return first?.type === 'select' && Array.isArray(first.columns) ? first.columns.length : undefined;
  },
  literals: (tree) => [...objects(tree, new Set(['loc']))].filter((o) => typeof o.type === 'string' && NSP_LITERALS.has(o.type)).map((o) => ({ value: o.value, positioned: o.loc !== undefined })),
  untypedObjects: (tree) => {
    const all = [...objects(tree, new Set(['loc']))];
    return { objects: all.length, untyped: all.filter((o) => typeof o.type !== 'string').length };
  },
};

// --- sql-parser-cst ----------------------------------------------------------------------------

type CstDialect = 'mysql' | 'mariadb' | 'sqlite';

function cst(sql: string, dialect: BenchDialect, includeRange: boolean): unknown {
  const d: CstDialect = dialect === 'mysql' ? 'mariadb' : 'sqlite';
  return parseCst(sql, { dialect: d, paramTypes: ['?'], includeRange });
}

const cstStatements = (tree: unknown): Json[] => ((tree as { statements?: Json[] }).statements ?? []).filter((s) => s.type !== 'empty');

export const sqlParserCst: ParserCandidate = {
  name: 'sql-parser-cst',
  version: pkgVersion('sql-parser-cst'),
  grammar: { mysql: 'mariadb', sqlite: 'sqlite' },
  parse: (sql, dialect) => cst(sql, dialect, false),
  parseWithPositions: (sql, dialect) => cst(sql, dialect, true),
  statements: (tree) => cstStatements(tree).length,
  selectItems: (tree) => {
    const first = cstStatements(tree)[0] as { type?: string; clauses?: Array<{ type: string; columns?: { items?: unknown[] } }> } | undefined;
    const select = first?.type === 'select_stmt' ? first.clauses?.find((c) => c.type === 'select_clause') : undefined;
    return select?.columns?.items?.length;
  },
  literals: (tree) =>
    [...objects(tree)]
      .filter((o) => typeof o.type === 'string' && o.type.endsWith('_literal'))
      .map((o) => ({ value: o.value ?? o.text, positioned: Array.isArray(o.range) })),
  untypedObjects: (tree) => {
    const all = [...objects(tree)];
    return { objects: all.length, untyped: all.filter((o) => typeof o.type !== 'string').length };
  },
};

// --- datafusion-sqlparser-rs (WASM) --------------------------------------------------------------

await initSqlparserRs();

/** serde's externally tagged `Value` enum: `{ value: { SingleQuotedString: "x" }, span }`. */
function rsLiteral(o: Json): Literal | undefined {
  const v = o.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || !('span' in o)) return undefined;
  const [kind, inner] = Object.entries(v as Json)[0] ?? [];
  if (kind === undefined || kind === 'Placeholder' || !/String|Number|Boolean|Null|HexString|Literal/.test(kind)) return undefined;
  return { value: inner, positioned: typeof o.span === 'object' && o.span !== null };
}

export const sqlparserRs: ParserCandidate = {
  name: '@guanmingchiu/sqlparser-ts',
  version: pkgVersion('@guanmingchiu/sqlparser-ts'),
  grammar: { mysql: 'mysql', sqlite: 'sqlite' },
  parse: (sql, dialect) => parseSqlparserRs(sql, sqlparserRs.grammar[dialect] as 'mysql'),
  parseWithPositions: (sql, dialect) => parseSqlparserRs(sql, sqlparserRs.grammar[dialect] as 'mysql'),
  statements: (tree) => asList(tree).length,
  selectItems: (tree) => {
    const first = asList(tree)[0] as { Query?: { body?: { Select?: { projection?: unknown[] } } } } | undefined;
    return first?.Query?.body?.Select?.projection?.length;
  },
  literals: (tree) => [...objects(tree)].map(rsLiteral).filter((l): l is Literal => l !== undefined),
  // Rust enums serialize externally tagged and structs as plain objects: node kinds are keys and
  // positions in the parent's type, so "objects without a kind field" does not apply.
  untypedObjects: () => undefined,
};

export const PARSER_CANDIDATES: ParserCandidate[] = [nodeSqlParser, sqlParserCst, sqlparserRs];
