/**
 * Queue mode alone: `sluice api` + one `sluice worker` (BullMQ through Redis) against the bare
 * proxy, in one run, with CPU per request split into gateway (both processes), Postgres and Redis.
 * `npm run bench` runs the same path next to the others.
 *
 *   node --import tsx bench/queue-mode.ts     BENCH_DURATION=10 BENCH_CONNECTIONS=32 BENCH_WARMUP=2
 */
import { queuePath } from './paths.js';

queuePath().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
