/** What a BullMQ job carries in Redis, and what it returns (through the queue's event stream). */
import type { QueryJob, QueryOutcome } from '../../pool/messages.js';
import type { JobOwner } from '../async-jobs.js';

/** POST /jobs: one async job; the worker sets its deadline when it starts. */
export interface AsyncPayload {
  kind: 'async';
  job: QueryJob;
  /** Who may read or cancel it. */
  owner: JobOwner;
}

/**
 * /data: one or more waiting requests (at most BATCH_MAX, bullmq-queue.ts), each with its own id, deadline and cancel.
 * Each item's outcome is published on `reply` (its front's channel) as soon as it is known, so a
 * slow, failing or cancelled item never holds its batch-mates' answers back.
 */
export interface BatchPayload {
  kind: 'batch';
  items: QueryJob[];
  reply: string;
}

export type JobPayload = AsyncPayload | BatchPayload;

/** The outcome of an async job; a batch returns only the outcomes it could not publish. */
export type JobReturn = QueryOutcome;
export interface BatchReturn {
  unsent: Record<string, QueryOutcome>;
}
