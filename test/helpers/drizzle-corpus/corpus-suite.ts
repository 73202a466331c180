/**
 * The vitest suite over one dialect's corpus: one test per case, in order, on a shared pair of
 * databases. A case not in the known-failures table must pass; a listed one must still fail with
 * its listed code (so whoever fixes a group updates the table). Prints a summary per dialect and
 * keeps the SQL Drizzle sent in a committed file (the parser measurement reads it; the path is
 * relative to the test file, test/integration/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiteralCases } from '../../fixtures/drizzle-corpus/literal-cases.js';
import type { CorpusCase, KnownFailures } from './corpus-case.js';
import { corpusLiteralMode } from './corpus-gateway.js';
import { normalize, sameAnswer } from './normalize.js';
import { PASS, runCase, type CaseOutcome, type CorpusTarget } from './run-corpus.js';

export interface CorpusSuite<C> {
  dialect: 'pg' | 'mysql' | 'sqlite';
  cases: CorpusCase<C>[];
  known: KnownFailures;
  groupTitles: Readonly<Record<string, string>>;
  /** The cases sql.literals refuses (literal-cases.ts), for the SLUICE_CORPUS_LITERALS mode. */
  literals: LiteralCases;
  start(): Promise<CorpusTarget<C> & { close(): Promise<void> }>;
}

function summary(dialect: string, outcomes: CaseOutcome[], known: KnownFailures, titles: Readonly<Record<string, string>>): string {
  const statements = outcomes.reduce((n, o) => n + o.statements.length, 0);
  const failing = outcomes.filter((o) => o.code !== PASS);
  const lines = [`Drizzle corpus through sluice, ${dialect}: ${outcomes.length} cases (${statements} statements), ${outcomes.length - failing.length} pass, ${failing.length} fail`];
  const byGroup = new Map<string, CaseOutcome[]>();
  for (const o of failing) {
    const group = String(known[o.name]?.group ?? 'UNLISTED');
    byGroup.set(group, [...(byGroup.get(group) ?? []), o]);
  }
  const order = [...byGroup.keys()].sort((a, b) => (Number(a) || 99) - (Number(b) || 99) || a.localeCompare(b));
  for (const group of order) {
    const list = byGroup.get(group)!;
    lines.push(`  group ${group}${titles[group] ? ` (${titles[group]})` : ''}: ${list.length}`);
    for (const o of list) lines.push(`    - ${o.name} → ${o.code}`);
  }
  return lines.join('\n');
}

export function describeCorpus<C>(suite: CorpusSuite<C>, describeIf: typeof describe): void {
  describeIf(`Drizzle corpus (${suite.dialect}): proxy driver through sluice = native driver`, () => {
    let target: Awaited<ReturnType<CorpusSuite<C>['start']>> | undefined;
    const outcomes: CaseOutcome[] = [];

    beforeAll(async () => {
      target = await suite.start();
    }, 120_000);

    afterAll(async () => {
      if (outcomes.length > 0) console.log(summary(suite.dialect, outcomes, suite.known, suite.groupTitles));
      await target?.close();
    }, 60_000);

    it('every known failure names a corpus case', () => {
      const names = new Set(suite.cases.map((c) => c.name));
      expect(Object.keys(suite.known).filter((name) => !names.has(name))).toEqual([]);
    });

    const literalMode = corpusLiteralMode();
    const refusedLiterals = (name: string): boolean => {
      const listed = suite.literals[name];
      return listed !== undefined && literalMode !== 'allow' && (literalMode === 'refuse' || listed.from === literalMode);
    };

    for (const c of suite.cases) {
      it(c.name, async () => {
        const outcome = await runCase(c, target!);
        outcomes.push(outcome);
        const known = suite.known[c.name];
        const sql = outcome.statements.map((s) => s.sql).join('\n');
        if (refusedLiterals(c.name)) {
          expect(outcome.code, `sql.literals "${literalMode}" must refuse it (${suite.literals[c.name]!.feature})\n${sql}`).toBe('LITERAL_NOT_ALLOWED');
        } else if (known === undefined) {
          expect(outcome.code, `${outcome.detail}\n${sql}`).toBe(PASS);
        } else {
          const fixed = outcome.code === PASS ? ' — it passes now: remove it from the known failures' : '';
          expect(outcome.code, `known failure (group ${known.group}) changed${fixed}: ${outcome.detail}\n${sql}`).toBe(known.code);
        }
      });
    }

    it('after the corpus both databases hold the same data', async () => {
      expect(sameAnswer(normalize(await target!.dump('sluice')), normalize(await target!.dump('native')))).toBe(true);
    });

    // Recorded with sql.literals "allow": under another mode a refused case sends fewer statements.
    it.skipIf(literalMode !== 'allow')('the SQL Drizzle sent is the committed corpus', async () => {
      expect(outcomes.map((o) => o.name), 'run the whole file: the corpus is recorded from every case').toEqual(suite.cases.map((c) => c.name));
      const lines = outcomes.flatMap((o) => o.statements.map((s) => JSON.stringify({ case: o.name, method: s.method, sql: s.sql })));
      await expect(`[\n${lines.join(',\n')}\n]\n`).toMatchFileSnapshot(`../fixtures/drizzle-corpus/${suite.dialect}-statements.json`);
    });
  });
}
