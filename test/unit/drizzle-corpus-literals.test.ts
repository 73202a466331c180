/**
 * What Drizzle's builders send, under sql.literals: every statement of the committed corpus SQL
 * (kept equal to what Drizzle sends by the corpus suites' snapshot) is scanned, and the cases each
 * mode refuses must be exactly those listed in literal-cases.ts — sql`…` templates and sql.raw with
 * values in their text. The query builders themselves (selects, joins, inserts with .default(),
 * $onUpdate, placeholders in sql`…`, set operations, $count, batches, relational queries) pass.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParsers } from '../../src/sql/create-validator.js';
import { refusedUnder, scanLiterals, type LiteralMode } from '../../src/sql/literals/policy.js';
import { MYSQL_LITERAL_CASES, PG_LITERAL_CASES, SQLITE_LITERAL_CASES, type LiteralCases } from '../fixtures/drizzle-corpus/literal-cases.js';

beforeAll(async () => {
  await loadSqlParsers();
});

const DIALECTS = [
  { dialect: 'postgres', file: 'pg', listed: PG_LITERAL_CASES },
  { dialect: 'mysql', file: 'mysql', listed: MYSQL_LITERAL_CASES },
  { dialect: 'sqlite', file: 'sqlite', listed: SQLITE_LITERAL_CASES },
] as const;

function refusedCases(dialect: 'postgres' | 'mysql' | 'sqlite', file: string, mode: LiteralMode): { all: string[]; refused: string[] } {
  const statements = JSON.parse(readFileSync(new URL(`../fixtures/drizzle-corpus/${file}-statements.json`, import.meta.url), 'utf8')) as { case: string; sql: string }[];
  const refused = new Set<string>();
  for (const s of statements) {
    if (scanLiterals(s.sql, dialect).some((l) => refusedUnder(mode, l))) refused.add(s.case);
  }
  return { all: [...new Set(statements.map((s) => s.case))], refused: [...refused].sort() };
}

const listedFor = (listed: LiteralCases, mode: LiteralMode): string[] =>
  Object.entries(listed)
    .filter(([, c]) => mode === 'refuse' || c.from === mode)
    .map(([name]) => name)
    .sort();

describe('the Drizzle corpus under sql.literals', () => {
  for (const { dialect, file, listed } of DIALECTS) {
    it(`${dialect}: refuse-strings and refuse refuse exactly the listed sql\`…\`/sql.raw cases`, () => {
      const strings = refusedCases(dialect, file, 'refuse-strings');
      expect(strings.all.length).toBeGreaterThan(100);
      expect(Object.keys(listed).filter((name) => !strings.all.includes(name))).toEqual([]);
      expect(strings.refused).toEqual(listedFor(listed, 'refuse-strings'));
      expect(refusedCases(dialect, file, 'refuse').refused).toEqual(listedFor(listed, 'refuse'));
      expect(refusedCases(dialect, file, 'allow').refused).toEqual([]);
    });
  }
});
