/**
 * The piscina task entry: one module instance per worker thread. Thread state (parsers,
 * validators, pg pools) lives as long as the thread; the host keeps threads alive forever
 * (idleTimeout: Infinity) so pools are not torn down between bursts.
 */
import { BroadcastChannel, threadId, workerData } from 'node:worker_threads';
import { isChannelMessage, type ShutdownAck, type StatsReply, type ThreadListening } from '../src/pool/control-messages.js';
import type { QueryJob, QueryOutcome, WorkerInit } from '../src/pool/messages.js';
import { runJob } from '../src/pool/run-job.js';
import { createThreadLog } from '../src/pool/thread-log.js';
import { createThreadRuntime } from '../src/pool/thread-runtime.js';

const init = workerData as WorkerInit;
const log = createThreadLog(init.config.logging.level);
const runtime = createThreadRuntime(init.config, log);

const channel = new BroadcastChannel(init.cancelChannel);
// Cancels arrive only while tasks run, and those keep the thread busy anyway.
channel.unref();
channel.onmessage = (event: unknown) => {
  const data = (event as { data: unknown }).data;
  if (!isChannelMessage(data)) return;
  if (data.type === 'cancel') runtime.cancel(data.id);
  else if (data.type === 'stats') channel.postMessage({ type: 'stats-reply', requestId: data.requestId, threadId, stats: runtime.stats() } satisfies StatsReply);
  else if (data.type === 'shutdown') {
    void runtime.close().finally(() => {
      const ack: ShutdownAck = { type: 'shutdown-done', threadId };
      channel.postMessage(ack);
      setImmediate(() => channel.close());
    });
  }
};
// Cancels broadcast before this channel opened never arrive: the host repeats those of its jobs in flight.
channel.postMessage({ type: 'listening', threadId } satisfies ThreadListening);

export default function queryTask(job: QueryJob): Promise<QueryOutcome> {
  return runJob(job, runtime, init.config.limits, log);
}
