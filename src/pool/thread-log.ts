/**
 * Logging inside worker threads: one JSON line on stderr. Details (raw database errors, stacks)
 * go here and never into a QueryOutcome.
 */
import { threadId } from 'node:worker_threads';

export type ThreadLog = (msg: string, details: Record<string, unknown>) => void;

export function createThreadLog(level: string): ThreadLog {
  // Everything this logs is an error or warning: only silent/fatal turn it off.
  if (level === 'silent' || level === 'fatal') return () => undefined;
  return (msg, details) => {
    process.stderr.write(`${JSON.stringify({ level: 50, time: Date.now(), threadId, msg, ...details })}\n`);
  };
}
