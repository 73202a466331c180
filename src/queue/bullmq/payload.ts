/** What a BullMQ job carries in Redis, and what it returns (through the queue's event stream). */
import type { QueryJob, QueryOutcome } from '../../pool/messages.js';
import type { JobOwner } from '../async-jobs.js';


export interface JobPayload {
  /** sync: a /data request is waiting for it. async: POST /jobs; the worker sets the deadline when it starts. */
  kind: 'sync' | 'async';
  job: QueryJob;
  /** async only: who may read or cancel it. */
  owner?: JobOwner;
}

export type JobReturn = QueryOutcome;
