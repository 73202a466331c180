/**
 * The differential runner shared by the MySQL and SQLite fuzz suites: a sluice engine over copy `a`
 * of a fuzz backend (sql-fuzz-fixture.ts), and the judges that hold each generated statement
 * against the oracle.
 *
 * Reads: sluice's rows must equal the oracle's as a multiset (and in order, under an ORDER BY of
 * every column), or sluice must refuse with a 4xx. Writes: after sluice's write on copy `a`, the
 * other tenants' rows, the hidden values and the never-permitted tables must be byte-identical;
 * when both sides run it, RETURNING rows (or, without RETURNING, the write's metadata: insert id and
 * counts, as the statement itself produced them), the affected-row count and the whole copy `a` must
 * equal what the oracle's write left in copy `b`. Both copies go back to the seed after every case, so
 * each statement (and each shrink step) starts from the same data. A 5xx is always a bug.
 *
 * MariaDB compares text case-insensitively (utf8mb4_unicode_ci): where rows tie under the
 * collation, which spelling DISTINCT/GROUP BY/ORDER BY keep is up to the plan, so MySQL answers are
 * compared with text folded to lower case (a leak is another tenant's row, never a case change).
 */
import { createEngine, type Engine } from '../../src/engine.js';
import type { ReadCase } from './sql-fuzz-dialect-gen.js';
import type { Write, WriteCase } from './sql-fuzz-dialect-writes.js';
import { fuzzPermissions } from './sql-fuzz-dialect.js';
import { dialectTrapFired } from './sql-fuzz-trap.js';
import type { Dump, FuzzBackend, OracleAnswer } from './sql-fuzz-fixture.js';
import { post, type PostResult } from './sluice-harness.js';
import { TEST_JWT_SECRET, makeTokens } from './tokens.js';
import { SQLITE_PARSER } from './sqlite-parser.js';

export const MAX_ROWS = 10_000;

export interface FuzzEngine {
  engine: Engine;
  post(tenant: 1 | 2, sql: string, params?: unknown[], method?: 'all' | 'run' | 'execute'): Promise<PostResult>;
  close(): Promise<void>;
}

export async function startFuzzEngine(backend: FuzzBackend): Promise<FuzzEngine> {
  const engine = createEngine(
    {
      server: { host: '127.0.0.1', port: 0 },
      auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
      connections: { main: backend.connection },
      limits: { queryTimeout: 10_000, rateLimitPerUser: 0, rateLimitPerIP: 0, maxRows: MAX_ROWS, maxRelationDepth: 8, maxFilterNesting: 8 },
      workers: { threads: 1 },
      logging: { level: 'silent' },
      permissions: fuzzPermissions(),
      sql: { sqliteParser: SQLITE_PARSER },
    },
    { logger: false },
  );
  const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
  const tokens = await makeTokens();
  return {
    engine,
    post: (tenant, sql, params = [], method = 'all') => post(url, tenant === 1 ? tokens.tenant1 : tokens.tenant2, { sql: backend.expand(sql, 'a'), params, method }),
    close: () => engine.close(),
  };
}

/** Refusal codes that come from the database's own answer, not from the validator. */
const DATABASE_CODES = new Set([
  'UNIQUE_VIOLATION', 'FOREIGN_KEY_VIOLATION', 'NOT_NULL_VIOLATION', 'CHECK_VIOLATION', 'INVALID_SQL', 'UNDEFINED_COLUMN', 'UNDEFINED_OBJECT', 'INVALID_INPUT',
]);

export class FuzzStats {
  counts = { cases: 0, equal: 0, truncated: 0, overRefused: 0, bothRefused: 0, probes: 0, oracleFenced: 0, metaChecked: 0, trapped: 0 };
  /** sluice's 4xx codes (with the first words of the message), over every refused case. */
  readonly refusals = new Map<string, number>();
  readonly overRefusals = new Map<string, string>();

  refusal(res: PostResult): string {
    const code = String(res.body?.error?.code ?? res.status);
    const message = String(res.body?.error?.message ?? '')
      .replace(/"[^"]*"|`[^`]*`|\b[a-z_]+\.[a-z_.]+\b/g, '…')
      .slice(0, 60);
    const key = `${code}: ${message}`;
    this.refusals.set(key, (this.refusals.get(key) ?? 0) + 1);
    return code;
  }

  summary(label: string, seed: number): string {
    const refused = [...this.refusals.values()].reduce((a, b) => a + b, 0);
    // What the database itself said no to (constraint, unknown name, data error), as opposed to the validator.
    const byDatabase = [...this.refusals].filter(([k]) => DATABASE_CODES.has(k.split(':')[0]!)).reduce((a, [, n]) => a + n, 0);
    const pct = (n: number): string => `${((100 * n) / Math.max(1, this.counts.cases)).toFixed(1)}%`;
    const top = [...this.refusals].sort((x, y) => y[1] - x[1]).slice(0, 12);
    const lines = [
      `${label}: seed ${seed}, ${JSON.stringify(this.counts)}, refused by sluice ${refused}/${this.counts.cases} (${pct(refused)}: validator ${pct(refused - byDatabase)}, database ${pct(byDatabase)})`,
      ...top.map(([k, n]) => `  ${String(n).padStart(5)}  ${k}`),
    ];
    if (this.overRefusals.size > 0) lines.push(`  refused by sluice, answered by the oracle (first few):`, ...[...this.overRefusals].slice(0, 6).map(([sql, why]) => `    ${why}: ${sql.slice(0, 300)}`));
    return lines.join('\n');
  }
}

const foldCase = (v: unknown): unknown => (typeof v === 'string' ? v.toLowerCase() : v);

/** Row texts for comparison (MySQL: text folded, see the header). */
export function rowTexts(rows: unknown[], dialect: 'mysql' | 'sqlite'): string[] {
  return rows.map((r) => JSON.stringify(r, dialect === 'mysql' ? (_k, v: unknown) => foldCase(v) : undefined));
}

const sorted = (xs: string[]): string => JSON.stringify([...xs].sort());

function isSubMultiset(part: string[], whole: string[]): boolean {
  const left = new Map<string, number>();
  for (const r of whole) left.set(r, (left.get(r) ?? 0) + 1);
  for (const r of part) {
    const n = left.get(r) ?? 0;
    if (n === 0) return false;
    left.set(r, n - 1);
  }
  return true;
}

function describeCase(c: { tenant: number; sluice: string; oracle: string; params?: unknown[] }, res: PostResult, expected: OracleAnswer): string {
  const params = c.params && c.params.length > 0 ? `\n  params: ${JSON.stringify(c.params)}` : '';
  return `tenant ${c.tenant}\n  sluice SQL: ${c.sluice}${params}\n  oracle SQL: ${c.oracle}\n  sluice: ${res.status} ${res.text.slice(0, 600)}\n  oracle: ${JSON.stringify(expected).slice(0, 600)}`;
}

/** An error-oracle trap's error came back (sql-fuzz-trap.ts): a leak, whatever the oracle says. */
function checkTraps(traps: number | undefined, res: PostResult, where: () => string, stats: FuzzStats): void {
  if (!traps) return;
  stats.counts.trapped++;
  if (dialectTrapFired(res)) throw new Error(`an error-oracle trap fired: another tenant's row was evaluated and its error reached the caller\n${where()}`);
}

function checkStatus(res: PostResult, where: () => string): void {
  if (res.status === 200 || (res.status >= 400 && res.status < 500)) return;
  throw new Error(`sluice answered ${res.status} (a 5xx is a bug)\n${where()}`);
}

export type ReadOutcome = 'equal' | 'overRefused' | 'bothRefused' | 'probe';

/** One read through sluice and the oracle; throws on any difference. */
export async function judgeRead(c: Pick<ReadCase, 'tenant' | 'sluice' | 'oracle' | 'fenced' | 'probe' | 'ordered'> & { params?: unknown[]; traps?: number }, backend: FuzzBackend, sluice: FuzzEngine, stats: FuzzStats): Promise<ReadOutcome> {
  stats.counts.cases++;
  const res = await sluice.post(c.tenant, c.sluice, c.params);
  const expected: OracleAnswer = c.probe ? { ok: false, code: 'PROBE', message: 'not run' } : await backend.run(c.oracle, c.fenced, 'a', false);
  const where = (): string => describeCase(c, res, expected);
  checkTraps(c.traps, res, where, stats);
  checkStatus(res, where);
  if (res.status !== 200) stats.refusal(res);
  if (c.probe) {
    if (res.status === 200) throw new Error(`sluice answered a statement reaching a hidden column, table or database\n${where()}`);
    stats.counts.probes++;
    return 'probe';
  }
  if (expected.ok && expected.fenced) stats.counts.oracleFenced++;
  if (!expected.ok) {
    if (res.status === 200) throw new Error(`sluice answered what the database refuses\n${where()}`);
    stats.counts.bothRefused++;
    return 'bothRefused';
  }
  if (res.status !== 200) {
    stats.counts.overRefused++;
    stats.overRefusals.set(c.sluice, `${res.status} ${res.body?.error?.code ?? ''}`);
    return 'overRefused';
  }
  const got = rowTexts(res.body.rows as unknown[], backend.dialect);
  const want = rowTexts(expected.rows, backend.dialect);
  if (res.body.truncated === true) {
    // Cut at limits.maxRows: which rows survive is up to the plan, so check containment.
    if (want.length <= MAX_ROWS || got.length !== MAX_ROWS || !isSubMultiset(got, want)) throw new Error(`truncated rows are not the oracle's\n${where()}`);
    stats.counts.truncated++;
    return 'equal';
  }
  if (sorted(got) !== sorted(want)) throw new Error(`rows differ from the oracle's\n${where()}`);
  if (c.ordered && JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`row order differs from the oracle's (ORDER BY every column)\n${where()}`);
  stats.counts.equal++;
  return 'equal';
}

/** What tenant `t` must never change: other tenants' rows (and tenant-less ones), hidden values, unpermitted tables. */
export function protectedPart(d: Dump, t: number): string {
  const others = (rows: unknown[][] | undefined): unknown[][] => (rows ?? []).filter((r) => r[1] !== t);
  // Hidden values of the tenant's own rows: a row may go (DELETE), but no write may change them.
  const hidden = (rows: unknown[][] | undefined, at: number): unknown[][] => (rows ?? []).filter((r) => r[1] === t).map((r) => [r[0], r[at]]);
  return JSON.stringify({
    customers: others(d.customers),
    orders: others(d.orders),
    order_items: others(d.order_items),
    audit_secrets: d.audit_secrets,
    other: d.other ?? null,
    ownSecretNotes: hidden(d.customers, 4),
    ownInternalCodes: hidden(d.order_items, 5),
  });
}

/** Hidden values of rows still present must not change; a deleted row is fine. */
function hiddenChanged(before: Dump, after: Dump, t: number): boolean {
  for (const [table, at] of [
    ['customers', 4],
    ['order_items', 5],
  ] as const) {
    const now = new Map((after[table] ?? []).map((r) => [r[0], r[at]]));
    if ((before[table] ?? []).some((r) => r[1] === t && now.has(r[0]) && now.get(r[0]) !== r[at])) return true;
  }
  return false;
}

function othersChanged(before: Dump, after: Dump, t: number): boolean {
  const strip = (d: Dump): string => {
    const p = JSON.parse(protectedPart(d, t)) as Record<string, unknown>;
    delete p.ownSecretNotes;
    delete p.ownInternalCodes;
    return JSON.stringify(p);
  };
  return strip(before) !== strip(after);
}

const dataOf = (d: Dump): string => JSON.stringify({ ...d, counters: undefined });

/** The same rows in every table (id counters aside; MySQL text folded, see the header). */
function sameData(a: Dump, b: Dump, dialect: 'mysql' | 'sqlite'): boolean {
  return JSON.stringify(rowTexts([{ ...a, counters: undefined }], dialect)) === JSON.stringify(rowTexts([{ ...b, counters: undefined }], dialect));
}

export type WriteOutcome = 'equal' | 'overRefused' | 'bothRefused' | 'probe';

/**
 * One write through sluice (copy a) and the oracle (copy b), both from the seed; throws on any
 * difference. A generated write without RETURNING is sent with the dialect's write method, and its
 * metadata (SQLite `{ changes, lastInsertRowid }`, MySQL `{ insertId, affectedRows, changedRows }`)
 * must be what the statement itself produced (FuzzBackend.expectedMeta) — on sluice's side the
 * connection is shared with every earlier case of both tenants.
 */
export async function judgeWrite(
  c: Pick<WriteCase, 'tenant' | 'sluice' | 'oracle' | 'fenced' | 'probe'> & { params?: unknown[]; write?: Write; traps?: number },
  backend: FuzzBackend,
  sluice: FuzzEngine,
  stats: FuzzStats,
): Promise<WriteOutcome> {
  stats.counts.cases++;
  const meta = c.write !== undefined && c.write.returning === null;
  const before = await backend.dump('a');
  const res = await sluice.post(c.tenant, c.sluice, c.params, meta ? backend.writeMethod : 'all');
  const afterA = await backend.dump('a');
  const expected: OracleAnswer = c.probe ? { ok: false, code: 'PROBE', message: 'not run' } : await backend.run(c.oracle, c.fenced, 'b', true);
  const afterB = await backend.dump('b');
  const where = (): string => describeCase(c, res, expected);
  try {
    checkTraps(c.traps, res, where, stats);
    checkStatus(res, where);
    if (othersChanged(before, afterA, c.tenant)) throw new Error(`another tenant's row, a tenant-less row or an unpermitted table changed\n${where()}`);
    if (hiddenChanged(before, afterA, c.tenant)) throw new Error(`a hidden value of the tenant's own rows changed\n${where()}`);
    if (res.status !== 200) {
      stats.refusal(res);
      if (dataOf(afterA) !== dataOf(before)) throw new Error(`a refused statement changed the database\n${where()}`);
      if (c.probe) {
        stats.counts.probes++;
        return 'probe';
      }
      if (expected.ok) {
        stats.counts.overRefused++;
        stats.overRefusals.set(c.sluice, `${res.status} ${res.body?.error?.code ?? ''}`);
        return 'overRefused';
      }
      stats.counts.bothRefused++;
      return 'bothRefused';
    }
    if (c.probe) throw new Error(`sluice ran a write that sets a preset, filter or hidden column, or reaches an unpermitted table\n${where()}`);
    if (!expected.ok) throw new Error(`sluice ran a write the database refuses for the oracle\n${where()}`);
    if (expected.fenced) stats.counts.oracleFenced++;
    if (meta) {
      const got = backend.writeMethod === 'run' ? res.body.rows : (res.body.rows as unknown[])[0];
      const want = backend.expectedMeta(c.write!, expected, before, afterB);
      if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`write metadata differs: sluice ${JSON.stringify(got)}, the statement's own ${JSON.stringify(want)}\n${where()}`);
      stats.counts.metaChecked++;
    } else if (sorted(rowTexts(res.body.rows as unknown[], backend.dialect)) !== sorted(rowTexts(expected.rows, backend.dialect))) throw new Error(`RETURNING differs from the oracle's\n${where()}`);
    if (res.body.rowCount !== expected.rowCount) throw new Error(`affected rows differ: sluice ${res.body.rowCount}, oracle ${expected.rowCount}\n${where()}`);
    if (!sameData(afterA, afterB, backend.dialect)) throw new Error(`the database differs from the oracle's\n${where()}\n  sluice: ${dataOf(afterA)}\n  oracle: ${dataOf(afterB)}`);
    stats.counts.equal++;
    return 'equal';
  } finally {
    if (!(await backend.pristine('a', afterA))) await backend.reset('a', afterA);
    if (!(await backend.pristine('b', afterB))) await backend.reset('b', afterB);
  }
}
