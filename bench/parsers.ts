/**
 * Which SQL parser should check MySQL/MariaDB and SQLite statements? Every candidate in
 * bench/parser-candidates.ts parses, per dialect, the statements Drizzle sent in the corpus suites
 * (test/fixtures/drizzle-corpus/<dialect>-statements.json) and the attack corpus
 * (test/fixtures/<dialect>-attacks.yaml), and is timed on the statements all candidates parse, in
 * the same run, rounds interleaved, as a ratio against node-sql-parser (what sluice uses today).
 *
 *   node --import tsx bench/parsers.ts [rounds]
 *
 * Prints, per dialect: parse counts, the corpus cases each parser fails (with their issue-13 group),
 * literal source positions, objects without a node kind, how each reads a few lexical traps, and µs
 * per statement. Findings and the recommendation: docs/parsers.md.
 */
import { readFileSync } from 'node:fs';
import { loadDialectAttacks } from '../test/fixtures/drizzle-dialect-config.js';
import { MYSQL_KNOWN_FAILURES, SQLITE_KNOWN_FAILURES } from '../test/fixtures/drizzle-corpus/known-failures.js';
import { PARSER_CANDIDATES, type BenchDialect, type ParserCandidate } from './parser-candidates.js';

const ROUNDS = Number(process.argv[2] ?? 7);
const KNOWN = { mysql: MYSQL_KNOWN_FAILURES, sqlite: SQLITE_KNOWN_FAILURES };

interface Statement {
  case: string;
  sql: string;
}

function corpus(dialect: BenchDialect): Statement[] {
  const file = new URL(`../test/fixtures/drizzle-corpus/${dialect}-statements.json`, import.meta.url);
  const entries = JSON.parse(readFileSync(file, 'utf8')) as Array<{ case: string; sql: string }>;
  return entries.map((e) => ({ case: e.case, sql: e.sql.replaceAll('{{schema}}', 'corpus_schema') }));
}

/** Lexical traps: what the database itself makes of each (the reading a walker must get). */
const PROBES: Record<BenchDialect, Array<{ sql: string; database: string }>> = {
  mysql: [
    { sql: "select 'a\\' or 1=1 -- '", database: "one literal a' or 1=1 -- (backslash escapes the quote)" },
    { sql: 'select 1--1', database: 'one item, 1 - (-1): "--" without a space is no comment' },
    { sql: 'select 1 # , 2', database: 'one item: # starts a comment' },
    { sql: 'select 1 /*! , 2 */', database: 'two items: /*! … */ is executed' },
    { sql: 'select 1 /*M! , 2 */', database: 'two items on MariaDB: /*M! … */ is executed' },
    { sql: 'select "abc"', database: 'a string (no ANSI_QUOTES)' },
  ],
  sqlite: [
    { sql: "select 'a\\' , 2", database: "two items: a\\ is a string, backslash is no escape" },
    { sql: 'select 1 /*! , 2 */', database: 'one item: /*! … */ is an ordinary comment' },
    { sql: 'select 1 # , 2', database: 'a syntax error: # is no comment' },
    { sql: 'select [a b] from t', database: 'one item: [a b] is a quoted identifier' },
    { sql: 'select "abc"', database: 'an identifier (DQS=0 build)' },
  ],
};

function firstLine(err: unknown): string {
  return String((err as Error).message ?? err)
    .split('\n')[0]!
    .slice(0, 90);
}

function tryParse(p: ParserCandidate, sql: string, dialect: BenchDialect): { ok: true; tree: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, tree: p.parse(sql, dialect) };
  } catch (err) {
    return { ok: false, error: firstLine(err) };
  }
}

function pct(n: number, of: number): string {
  return of === 0 ? 'n/a' : `${((100 * n) / of).toFixed(1)}%`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measureDialect(dialect: BenchDialect): void {
  const statements = corpus(dialect);
  const attacks = loadDialectAttacks(dialect, 'corpus_schema');
  console.log(`\n## ${dialect}: ${statements.length} Drizzle statements, ${attacks.length} attack-corpus statements\n`);
  console.log('| parser | grammar | Drizzle parsed | attacks parsed | literals with position | objects without a node kind |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const parsedBy = new Map<ParserCandidate, Set<number>>();
  const failures = new Map<ParserCandidate, Array<{ case: string; error: string }>>();
  for (const p of PARSER_CANDIDATES) {
    const ok = new Set<number>();
    const failed: Array<{ case: string; error: string }> = [];
    let literals = 0;
    let positioned = 0;
    let objects = 0;
    let untyped = 0;
    let typedKnown = true;
    statements.forEach((s, i) => {
      const r = tryParse(p, s.sql, dialect);
      if (!r.ok) {
        failed.push({ case: s.case, error: r.error });
        return;
      }
      ok.add(i);
      const withPositions = p.parseWithPositions(s.sql, dialect);
      for (const l of p.literals(withPositions)) {
        literals++;
        if (l.positioned) positioned++;
      }
      const u = p.untypedObjects(r.tree);
      if (u === undefined) typedKnown = false;
      else {
        objects += u.objects;
        untyped += u.untyped;
      }
    });
    const attacksParsed = attacks.filter((a) => tryParse(p, a.sql, dialect).ok).length;
    parsedBy.set(p, ok);
    failures.set(p, failed);
    console.log(
      `| ${p.name} ${p.version} | ${p.grammar[dialect]} | ${ok.size}/${statements.length} (${pct(ok.size, statements.length)}) | ${attacksParsed}/${attacks.length} | ` +
        `${positioned}/${literals} | ${typedKnown ? `${untyped}/${objects} (${pct(untyped, objects)})` : 'n/a (serde enums)'} |`,
    );
  }

  for (const p of PARSER_CANDIDATES) {
    const failed = failures.get(p)!;
    console.log(`\n${p.name}: ${failed.length} Drizzle statements fail to parse`);
    const byCase = new Map<string, string>();
    for (const f of failed) if (!byCase.has(f.case)) byCase.set(f.case, f.error);
    for (const [name, error] of byCase) {
      const known = KNOWN[dialect][name];
      console.log(`  - ${name}${known ? ` [group ${known.group}]` : ''}: ${error}`);
    }
  }

  console.log('\nLexical traps (what each parser reads):');
  for (const probe of PROBES[dialect]) {
    console.log(`  ${probe.sql}    — database: ${probe.database}`);
    for (const p of PARSER_CANDIDATES) {
      const r = tryParse(p, probe.sql, dialect);
      const reading = r.ok
        ? `${p.statements(r.tree)} statement(s), ${p.selectItems(r.tree) ?? '?'} item(s), literals ${JSON.stringify(p.literals(r.tree).map((l) => l.value))}`
        : `parse error: ${r.error}`;
      console.log(`      ${p.name}: ${reading}`);
    }
  }

  // Timing on the statements every candidate parses, rounds interleaved (rotating the order).
  const common = statements.filter((_, i) => PARSER_CANDIDATES.every((p) => parsedBy.get(p)!.has(i))).map((s) => s.sql);
  const times = new Map<ParserCandidate, number[]>(PARSER_CANDIDATES.map((p) => [p, []]));
  for (const p of PARSER_CANDIDATES) for (const sql of common) p.parse(sql, dialect); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < PARSER_CANDIDATES.length; k++) {
      const p = PARSER_CANDIDATES[(round + k) % PARSER_CANDIDATES.length]!;
      const started = performance.now();
      for (let rep = 0; rep < 5; rep++) for (const sql of common) p.parse(sql, dialect);
      times.get(p)!.push(((performance.now() - started) * 1000) / (5 * common.length));
    }
  }
  const baseline = median(times.get(PARSER_CANDIDATES[0]!)!);
  console.log(`\nParse time on the ${common.length} statements all parse (median of ${ROUNDS} rounds):`);
  for (const p of PARSER_CANDIDATES) {
    const us = median(times.get(p)!);
    console.log(`  ${p.name}: ${us.toFixed(1)} µs/statement, ${(us / baseline).toFixed(2)}× node-sql-parser`);
  }
}

measureDialect('mysql');
measureDialect('sqlite');
