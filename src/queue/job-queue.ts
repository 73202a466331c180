import type { QueryJob, QueryOutcome } from '../pool/messages.js';

/**
 * Where `/data` work waits for a free connection. Implementations: the in-process queue (this
 * file's sibling) and, later, BullMQ. A full queue rejects with OVERLOADED (503 + Retry-After)
 * instead of growing; an aborted signal removes a waiting job or cancels a running one.
 */
export interface JobQueue {
  /**
   * Never rejects: the queue's own refusals (OVERLOADED, SHUTTING_DOWN, CLIENT_CLOSED,
   * UNKNOWN_CONNECTION) come back as `{ ok: false, error }`, exactly like query errors.
   */
  submit(job: QueryJob, signal?: AbortSignal): Promise<QueryOutcome>;
  stats(): QueueStats;
  /**
   * How many jobs for `connection` submitted now would start at once: free slots, or 0 while any
   * job waits for one. Optional: a queue that cannot tell (BullMQ: the slots are in other
   * processes) leaves it out, and the fair queue then never lends a tenant more than its cap.
   */
  idleSlots?(connection: string): number;
  /**
   * The refusal a job of this shape would get if it were submitted now (OVERLOADED, TENANT_BUSY),
   * or undefined: lets the HTTP edge answer an overloaded queue before reading the body.
   * Optional; a queue without it is only asked by submit().
   */
  refusal?(probe: AdmissionProbe): QueryOutcome | undefined;
  /** Stop accepting work; wait (bounded) for running jobs; reject waiting ones with SHUTTING_DOWN. */
  close(): Promise<void>;
}

/** What the edge knows of a job before its body is read. */
export type AdmissionProbe = Pick<QueryJob, 'connection' | 'tenant' | 'tier' | 'deadline'>;

export interface QueueStats {
  waiting: number;
  running: number;
}
