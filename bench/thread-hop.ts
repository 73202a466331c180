/**
 * CPU per task of the piscina hop as sluice configures it (2 threads, 4 tasks each, a /data-sized
 * job, 8 callers), for piscina's `atomics` modes, alternating them in one run (process CPU, all
 * threads, per task). `node --import tsx bench/thread-hop.ts [rounds]`
 */
import { Piscina } from 'piscina';

const TASKS = 20_000;
const CALLERS = 8;
const job = (i: number): Record<string, unknown> => ({
  id: `0123456789abcdef-${i.toString(36)}`,
  connection: 'main',
  role: 'member',
  claims: { sub: 'bench', role: 'member', tenant_id: 1, iat: 1796685266, exp: 1796692466 },
  tenant: '1',
  sql: 'select "id", "name", "email" from "customers" where "customers"."id" = $1',
  params: [1],
  method: 'all',
  typings: ['none'],
  deadline: Date.now() + 30_000,
  answer: 'json',
});

async function cpuPerTask(atomics: 'async' | 'disabled'): Promise<number> {
  const piscina = new Piscina({ filename: new URL('./hop-worker.mjs', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: Infinity, atomics, concurrentTasksPerWorker: 4, recordTiming: false });
  const drive = async (): Promise<void> => {
    let i = 0;
    const caller = async (): Promise<void> => {
      while (i < TASKS) {
        await piscina.run(job(i++));
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    await Promise.all(Array.from({ length: CALLERS }, caller));
  };
  try {
    await drive(); // warm-up
    const start = process.cpuUsage();
    await drive();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / TASKS;
  } finally {
    await piscina.destroy();
  }
}

const rounds = Number(process.argv[2] ?? 3);
for (let r = 1; r <= rounds; r++) {
  // Alternate which mode goes first: the second run of a process inherits a warmer JIT.
  let a: number;
  let d: number;
  if (r % 2 === 1) {
    a = await cpuPerTask('async');
    d = await cpuPerTask('disabled');
  } else {
    d = await cpuPerTask('disabled');
    a = await cpuPerTask('async');
  }
  console.log(`round ${r}: atomics 'async' ${a.toFixed(1)} µs/task, 'disabled' ${d.toFixed(1)} µs/task (${(d / a).toFixed(2)}×)`);
}
