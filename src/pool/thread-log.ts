/**
 * Logging inside worker threads (and the piscina host): the main logger's shape and level, plus
 * the thread's id. Details (raw database errors, stacks) go here and never into a QueryOutcome.
 */
import { threadId } from 'node:worker_threads';
import { createLogger, type Log } from '../observability/log.js';

export type ThreadLog = Log;

export function createThreadLog(level: string): ThreadLog {
  return createLogger(level, { threadId });
}
