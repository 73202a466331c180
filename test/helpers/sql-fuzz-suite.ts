/**
 * The MariaDB and SQLite differential fuzz suites are the same suite over two backends: a check
 * that the judges notice a difference, the fixed corpus of earlier findings, then generated reads
 * and writes. Each test file keeps its own corpus and header; the suite itself lives here.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it, type describe } from 'vitest';
import { readCase, type Profile } from './sql-fuzz-dialect-gen.js';
import { writeCase, type Write } from './sql-fuzz-dialect-writes.js';
import { tenantView, type TableName } from './sql-fuzz-dialect.js';
import type { FuzzBackend } from './sql-fuzz-fixture.js';
import { dialectTrap } from './sql-fuzz-trap.js';
import { FuzzStats, judgeRead, judgeWrite, startFuzzEngine, type FuzzEngine } from './sql-fuzz-run.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);
const WRITE_RUNS = Number(process.env.FUZZ_WRITE_RUNS ?? process.env.FUZZ_RUNS ?? 100);
const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 0x5eed);

export interface CorpusEntry {
  name: string;
  kind: 'read' | 'write';
  tenant: 1 | 2;
  sluice: string;
  oracle: string;
  /** The oracle's fenced form (defaults to `oracle`). */
  fenced?: string;
  /** sluice's `?` values (the oracle writes them inline). */
  params?: unknown[];
  ordered?: boolean;
  probe?: boolean;
  /** What the judge must conclude (it throws on any difference anyway). */
  expect: 'equal' | 'overRefused' | 'bothRefused' | 'probe';
}

/** The oracle's view of a table for tenant 1 (as the generator prints it). */
export function oracleView(dialect: Profile['dialect']): (t: TableName) => string {
  return (t) => tenantView(t, { dialect, mode: 'oracle', tenant: 1, fenced: false, quoted: false });
}

export interface DialectFuzzSuite {
  title: string;
  /** describe, or describeIfMysql (skip locally / fail in CI without the service). */
  describe: typeof describe;
  profile: Profile;
  createBackend(): FuzzBackend | Promise<FuzzBackend>;
  corpus: readonly CorpusEntry[];
}

export function defineDialectFuzzSuite(s: DialectFuzzSuite): void {
  const { dialect } = s.profile;
  s.describe(s.title, () => {
    let backend: FuzzBackend;
    let sluice: FuzzEngine;
    const reads = new FuzzStats();
    const writes = new FuzzStats();

    beforeAll(async () => {
      backend = await s.createBackend();
      sluice = await startFuzzEngine(backend);
    }, 60_000);

    afterAll(async () => {
      console.info(`${reads.summary(`fuzz-${dialect} reads`, SEED)}\n${writes.summary(`fuzz-${dialect} writes`, SEED)}`);
      try {
        await sluice?.close();
      } finally {
        await backend?.close();
      }
    }, 60_000);

    it('the judges notice a difference (another tenant\'s rows, another write)', async () => {
      const stats = new FuzzStats();
      const other = tenantView('customers', { dialect, mode: 'oracle', tenant: 2, fenced: false, quoted: false });
      const read = { tenant: 1 as const, sluice: 'select id from customers', oracle: `select id from ${other} customers`, probe: false, ordered: false };
      await expect(judgeRead({ ...read, fenced: read.oracle }, backend, sluice, stats)).rejects.toThrow(/rows differ/);
      const write = { tenant: 1 as const, sluice: "update customers set name = 'x' where id = 1", oracle: "update customers set name = 'y' where tenant_id = 1 and id = 1", probe: false };
      await expect(judgeWrite({ ...write, fenced: write.oracle }, backend, sluice, stats)).rejects.toThrow(/differs from the oracle/);
      // Another insert id than the statement's own (the oracle inserts row 150, sluice row 101).
      const insert: Write = { k: 'insert', ignore: false, table: 'customers', cols: ['name'], rows: [[{ k: 'lit', sql: "'x'" }]], select: null, onDup: null, onConflict: null, returning: null };
      const meta = { tenant: 1 as const, sluice: "insert into customers (name) values ('x')", oracle: "insert into customers (id, name, tenant_id) values (150, 'x', 1)", probe: false, write: insert };
      await expect(judgeWrite({ ...meta, fenced: meta.oracle }, backend, sluice, stats)).rejects.toThrow(/write metadata differs/);
      // A trap printed for tenant 2 fires on tenant 1's own rows: it passes the validator, really
      // raises through sluice, and the judge calls its error a leak.
      const trap = dialectTrap('c.name', { dialect, mode: 'sluice', tenant: 2 });
      const trapped = { tenant: 1 as const, sluice: `select c.id from customers c where ${trap}`, oracle: 'select 1', probe: false, ordered: false, traps: 1 };
      await expect(judgeRead({ ...trapped, fenced: trapped.oracle }, backend, sluice, stats)).rejects.toThrow(/trap fired/);
      // Both copies are back at the seed: the next case starts clean.
      expect(await backend.pristine('a', await backend.dump('a'))).toBe(true);
      expect(await backend.pristine('b', await backend.dump('b'))).toBe(true);
    }, 30_000);

    it('the corpus of earlier findings', async () => {
      const stats = new FuzzStats();
      for (const c of s.corpus) {
        const entry = { probe: false, ordered: false, fenced: c.oracle, ...c };
        const outcome = c.kind === 'read' ? await judgeRead(entry, backend, sluice, stats) : await judgeWrite(entry, backend, sluice, stats);
        expect(outcome, c.name).toBe(c.expect);
      }
    }, 60_000);

    it.skipIf(RUNS === 0)(`answers every generated read like the oracle, or refuses it (${RUNS} cases, seed ${SEED})`, async () => {
      await fc.assert(
        fc.asyncProperty(readCase(s.profile), async (c) => {
          await judgeRead(c, backend, sluice, reads);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: false },
      );
      // Most statements must be answered by both sides, or the property proves little.
      expect(reads.counts.equal).toBeGreaterThanOrEqual(Math.floor(RUNS * 0.4));
    }, Math.max(120_000, RUNS * 300));

    it.skipIf(WRITE_RUNS === 0)(`leaves other tenants alone and writes what the oracle writes (${WRITE_RUNS} cases, seed ${SEED})`, async () => {
      await fc.assert(
        fc.asyncProperty(writeCase(s.profile), async (c) => {
          await judgeWrite(c, backend, sluice, writes);
        }),
        { numRuns: WRITE_RUNS, seed: SEED, endOnFailure: false },
      );
      expect(writes.counts.equal).toBeGreaterThanOrEqual(Math.floor(WRITE_RUNS * 0.3));
      // Most answered writes have no RETURNING: their metadata was held against the statement's own.
      expect(writes.counts.metaChecked).toBeGreaterThanOrEqual(Math.floor(writes.counts.equal * 0.3));
    }, Math.max(120_000, WRITE_RUNS * 600));
  });
}
