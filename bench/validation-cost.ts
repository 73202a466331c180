/**
 * Worker-thread CPU of one validation (parse, check, rewrite, print, re-parse; never a cache hit)
 * for the costliest inputs the default limits accept, against a simple Drizzle select measured in
 * the same run, on every dialect. No database is needed.
 *
 *   node --import tsx bench/validation-cost.ts            BENCH_REPS=5 by default, BENCH_DIALECTS=sqlite to pick,
 *                                                         BENCH_SQLITE_PARSER=sql-parser-cst for the opt-in SQLite parser
 *
 * The inputs are sized from the default limits (maxParams, maxSetOperations, maxTableReferences,
 * maxSqlTokens, maxSqlLength), so the same script run on an older tree measures what those inputs
 * cost before the limits existed. The first line is the input of issue 11, finding 13.
 */
import { parseConfig } from '../src/config/schema.js';
import type { SluiceConfig } from '../src/config/types.js';
import { createValidator, loadSqlParsers } from '../src/sql/create-validator.js';

type Dialect = 'postgres' | 'mysql' | 'sqlite';
const REPS = Number(process.env.BENCH_REPS ?? 5);

const CONNECTIONS: Record<Dialect, unknown> = {
  postgres: { url: 'postgres://bench@127.0.0.1:5432/bench', schema: 'app' },
  mysql: { dialect: 'mysql', url: 'mysql://bench@127.0.0.1:3306/app', schema: 'app' },
  sqlite: { dialect: 'sqlite', file: '/tmp/sluice-bench-never-opened.db' },
};

function config(dialect: Dialect): SluiceConfig {
  const own = { tenant_id: '$claims.tenant_id' };
  return parseConfig({
    auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } },
    connections: { main: CONNECTIONS[dialect] },
    ...(process.env.BENCH_SQLITE_PARSER && { sql: { sqliteParser: process.env.BENCH_SQLITE_PARSER } }),
    permissions: {
      member: {
        main: {
          customers: { select: { columns: ['id', 'tenant_id', 'name', 'email'], filter: own }, insert: { columns: ['name', 'email'], set: own } },
          orders: { select: { columns: '*', filter: own } },
        },
      },
    },
  }) as SluiceConfig;
}

const quoted = (dialect: Dialect, name: string): string => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
const param = (dialect: Dialect, i: number): string => (dialect === 'postgres' ? `$${i}` : '?');

/**
 * The inputs: the finding, two shapes that cost much more per byte before the limits (set
 * operations and joins over tables), and the largest inputs the default limits accept (the same
 * sizes on any tree).
 */
function inputs(dialect: Dialect): [string, string][] {
  const q = (n: string): string => quoted(dialect, n);
  const customers = q('customers');
  // Limits' defaults: maxParams 10000, maxSetOperations 50, maxTableReferences 128, maxSqlTokens 50000, maxSqlNodes 60000, maxSqlLength 100000.
  const fill = (head: string, item: (i: number) => string, sep: string, tail: string, maxLength = 99_000, maxTokens = 49_000): string => {
    const parts: string[] = [];
    let length = head.length + tail.length;
    for (let i = 0; ; i++) {
      const p = item(i);
      if (length + p.length + sep.length > maxLength || (parts.length + 1) * tokensPer(p) > maxTokens) break;
      parts.push(p);
      length += p.length + sep.length;
    }
    return `${head}${parts.join(sep)}${tail}`;
  };
  return [
    ['finding 13: 5000 union all select 1', 'select 1' + ' union all select 1'.repeat(5000)],
    ['1000 union arms over a table', `select id from customers${' union all select id from customers'.repeat(1000)}`],
    ['1000 joins', `select c0.id from customers c0 ${Array.from({ length: 1000 }, (_, i) => `join customers c${i + 1} on c${i + 1}.id = c${i}.id`).join(' ')}`],
    ['simple drizzle select (baseline)', `select ${q('id')}, ${q('name')} from ${customers} where ${customers}.${q('id')} = ${param(dialect, 1)}`],
    ['insert, 10000 rows (maxParams)', `insert into ${customers} (${q('name')}) values ${Array.from({ length: 10_000 }, (_, i) => `(${param(dialect, i + 1)})`).join(', ')}`],
    ['50 union arms over a table', `select id from customers${' union all select id from customers'.repeat(50)}`],
    ['127 joins', `select c0.id from customers c0 ${Array.from({ length: 127 }, (_, i) => `join customers c${i + 1} on c${i + 1}.id = c${i}.id`).join(' ')}`],
    ['128 table refs, nested in CTEs', `with ${Array.from({ length: 64 }, (_, i) => `w${i} as (select id, name from customers where id > ${i})`).join(', ')} select w0.id from ${Array.from({ length: 64 }, (_, i) => `w${i}`).join(', ')}`],
    ['CASE up to the token limit', fill('select case ', (i) => `when id = ${i} then ${i} `, '', 'end from customers')],
    ['IN list up to the token limit', fill('select id from customers where id in (', (i) => String(i), ', ', ')')],
    ['OR chain up to the token limit', fill('select id from customers where ', (i) => `id = ${i}`, ' or ', '')],
    ['select list up to the token limit', fill('select ', (i) => `id as a${i}`, ', ', ' from customers')],
    ['CTEs without tables up to the token limit', fill('with ', (i) => `c${i} as (select ${i} as x)`, ', ', ' select 1')],
  ];
}

/** Roughly how many tokens a fragment has (words, numbers, punctuation). */
function tokensPer(fragment: string): number {
  return (fragment.match(/[A-Za-z0-9_$]+|[^\sA-Za-z0-9_$]/g) ?? []).length + 1;
}

interface Measure {
  ms: number;
  outcome: string;
}

function measure(dialect: Dialect, sql: string, reps = REPS, warmUp = true): Measure {
  const validator = createValidator(config(dialect), 'main');
  let outcome = 'accepted';
  const run = (i: number): void => {
    try {
      // A distinct text every time: never a cache hit.
      validator.check({ sql: `${sql} -- ${i}`, role: 'member' });
    } catch (e) {
      outcome = (e as { code?: string }).code ?? String(e);
    }
  };
  if (warmUp) run(-1);
  const start = process.cpuUsage();
  for (let i = 0; i < reps; i++) run(i);
  const used = process.cpuUsage(start);
  return { ms: (used.user + used.system) / 1000 / reps, outcome };
}

async function main(): Promise<void> {
  await loadSqlParsers();
  console.log(`validation CPU per statement (process CPU time, mean of ${REPS}, cache misses)\n`);
  // BENCH_DIALECTS=sqlite,mysql: only those.
  const only = process.env.BENCH_DIALECTS?.split(',');
  for (const dialect of (['postgres', 'mysql', 'sqlite'] as const).filter((d) => !only || only.includes(d))) {
    const all = inputs(dialect);
    const simple = all.find(([name]) => name.includes('baseline'))![1];
    // Warm the JIT on the dialect's whole path first; the baseline is the mean of many.
    measure(dialect, simple, 500);
    const baseline = measure(dialect, simple, 500);
    console.log(`${dialect}: baseline ${baseline.ms.toFixed(2)} ms`);
    let worst = { name: '', ms: 0 };
    for (const [name, sql] of all) {
      // Inputs that took seconds to tens of seconds before the limits: measured once.
      const heavy = name.startsWith('1000');
      const m = name.includes('baseline') ? baseline : heavy ? measure(dialect, sql, 1, false) : measure(dialect, sql);
      if (m.outcome === 'accepted' && m.ms > worst.ms) worst = { name, ms: m.ms };
      console.log(`  ${name.padEnd(42)} ${(sql.length / 1024).toFixed(0).padStart(4)} KB  ${m.ms.toFixed(1).padStart(9)} ms  ${(m.ms / baseline.ms).toFixed(0).padStart(7)}×  ${m.outcome}`);
    }
    console.log(`  worst accepted: ${worst.name} — ${(worst.ms / baseline.ms).toFixed(0)}× the baseline\n`);
  }
}

await main();
