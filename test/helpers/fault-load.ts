/**
 * The load the fault tests (faults-*.test.ts) run while a fault hits, and how they judge it: the
 * fixture's two tenants read their own customers (every 200 must carry exactly their names), and
 * every write is accounted for afterwards (a 200 applied exactly once, anything else at most once,
 * a batch all or nothing, and no row that no request of the test wrote).
 */
import { randomBytes } from 'node:crypto';
import { answerOf, type Answer } from './answers.js';
import { post } from './sluice-harness.js';
import type { TestTokens } from './tokens.js';
import { sleep } from './wait-until.js';

/** The customers pg-fixture and mysql-fixture seed for tenants 1 and 2, in id order. */
export const T1_NAMES = ['T1 Alice', 'T1 Carol', 'T1 Erin'];
export const T2_NAMES = ['T2 Bob', 'T2 Dan', 'T2 Fay'];
/** A tenant's own customer names (the same text on Postgres and MariaDB: no placeholders). */
export const NAMES = { sql: 'select name from customers order by id', method: 'execute' };

/** The row objects of an `execute` read: MySQL answers mysql2's `[rows, fields]`, Postgres the rows. */
function rowObjects(rows: unknown[] | undefined): Array<{ name: string }> | undefined {
  return (Array.isArray(rows?.[0]) ? rows[0] : rows) as Array<{ name: string }> | undefined;
}

/** Answers labelled 't1' or 't2' that are not a 200 carrying exactly that tenant's names. */
export function wrongReads(answers: Answer[]): Answer[] {
  return answers.filter((a) => {
    const names = rowObjects((a.body as { rows?: unknown[] }).rows)?.map((r) => r.name);
    return a.status !== 200 || JSON.stringify(names) !== JSON.stringify(a.label === 't1' ? T1_NAMES : T2_NAMES);
  });
}

/** NAMES read by both tenants in a loop (one client each) until `stop` resolves; every answer is kept. */
export async function trafficAlongside(url: string, tokens: TestTokens, stop: Promise<void>): Promise<Answer[]> {
  const answers: Answer[] = [];
  let stopped = false;
  void stop.then(() => (stopped = true));
  const loop = async (token: string, label: string): Promise<void> => {
    while (!stopped) {
      const t = performance.now();
      answers.push(answerOf(label, await post(url, token, NAMES), performance.now() - t));
    }
  };
  await Promise.all([loop(tokens.tenant1, 't1'), loop(tokens.tenant2, 't2')]);
  return answers;
}

/** `n` NAMES reads at once, alternating tenant 1 and tenant 2 (labelled 't1' and 't2'). */
export function readsOfBothTenants(url: string, tokens: TestTokens, n: number): Promise<Answer[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => post(url, i % 2 ? tokens.tenant2 : tokens.tenant1, NAMES).then((r) => answerOf(i % 2 ? 't2' : 't1', r, 0))));
}

/** A write the test sent: the customer names it inserts (two for a batch) and the status it got. */
export interface WriteAttempt {
  markers: string[];
  status: number;
}

/**
 * `applied` maps a customer name to how many rows carry it. Returns the writes whose effect
 * contradicts their answer, and the names of rows that none of `writes` inserted: both must be empty.
 */
export function writeAccounting(writes: readonly WriteAttempt[], applied: ReadonlyMap<string, number>): { misapplied: WriteAttempt[]; strangers: string[] } {
  const misapplied = writes.filter((w) => {
    const counts = w.markers.map((m) => applied.get(m) ?? 0);
    if (w.status === 200) return counts.some((x) => x !== 1);
    // An error: at most once, and a batch all or nothing.
    return counts.some((x) => x > 1) || new Set(counts).size > 1;
  });
  const strangers = [...applied.keys()].filter((name) => !writes.some((w) => w.markers.includes(name)));
  return { misapplied, strangers };
}

/**
 * Six clients of mixed load until stop(): reads of the seeded customers (ids < 100) by both tenants,
 * and tenant-1 inserts of `storm-…` customers, one at a time or two in a batch. `p(i)` is the
 * dialect's i-th placeholder ($1 or ?). A 503 makes its client pause 50 ms, as a polite client would.
 */
export function mixedWriteLoad(url: string, tokens: TestTokens, p: (i: number) => string): { answers: Answer[]; writes: WriteAttempt[]; stop(): Promise<void> } {
  const answers: Answer[] = [];
  const writes: WriteAttempt[] = [];
  const insert = `insert into customers (name, email) values (${p(1)}, ${p(2)})`;
  let stopped = false;
  let n = 0;
  const client = async (c: number): Promise<void> => {
    while (!stopped) {
      const i = n++;
      const t0 = performance.now();
      if (i % 4 === 1) {
        const m = `storm-${i}-${randomHex()}`;
        const r = await post(url, tokens.tenant1, { sql: insert, params: [m, `${m}@t1.example`] });
        writes.push({ markers: [m], status: r.status });
        answers.push(answerOf('write', r, performance.now() - t0));
      } else if (i % 4 === 3) {
        const [a, b] = [`storm-${i}a-${randomHex()}`, `storm-${i}b-${randomHex()}`];
        const r = await post(url, tokens.tenant1, { batch: [a, b].map((m) => ({ sql: insert, params: [m, `${m}@t1.example`] })) });
        writes.push({ markers: [a, b], status: r.status });
        answers.push(answerOf('batch', r, performance.now() - t0));
      } else {
        // Only the seeded rows (ids < 100): the writes add tenant-1 customers.
        const r = await post(url, c % 2 ? tokens.tenant2 : tokens.tenant1, { sql: `select name from customers where id < ${p(1)} order by id`, params: [100], method: 'execute' });
        answers.push(answerOf(c % 2 ? 't2' : 't1', r, performance.now() - t0));
      }
      if (answers.at(-1)!.status === 503) await sleep(50);
    }
  };
  const load = Promise.all(Array.from({ length: 6 }, (_, c) => client(c)));
  return {
    answers,
    writes,
    async stop() {
      stopped = true;
      await load;
    },
  };
}

const randomHex = (): string => randomBytes(3).toString('hex');
