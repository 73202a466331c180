/**
 * Async jobs (POST /jobs): submitted now, run when a slot is free, polled and fetched later.
 * Two implementations: in memory (in-process mode) and in Redis (queue mode, any API instance can
 * answer for any job). Ids are unguessable; only the submitting user+tenant can see or cancel a
 * job — for anyone else it does not exist. Finished jobs expire after queue.resultTtlMs.
 */
import { randomBytes } from 'node:crypto';
import type { ErrorBody } from '../errors.js';
import type { QueryJob, QueryOutcome } from '../pool/messages.js';

export type JobState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface JobOwner {
  user: string;
  tenant: string | null;
}

export interface JobStatus {
  id: string;
  state: JobState;
  error?: ErrorBody;
}

/**
 * Stored jobs by state, for the operator console. In memory a job is `unfinished` until it ends (the
 * store cannot tell queued from running); in Redis `queued` and `running` also count the /data
 * statements waiting in or taken from the same BullMQ queues (they are removed once they finish).
 */
export type JobCounts = Partial<Record<JobState | 'unfinished', number>>;

export type SubmitResult = { ok: true; id: string } | { ok: false; error: ErrorBody };

export interface AsyncJobs {
  /** `job.id` and `job.deadline` are replaced: the id by an unguessable one, the deadline when it starts. */
  submit(job: QueryJob, owner: JobOwner): Promise<SubmitResult>;
  /** undefined: no such job for this owner (or expired). */
  status(id: string, owner: JobOwner): Promise<JobStatus | undefined>;
  /** The outcome once finished (`outcome` undefined while queued/running). */
  result(id: string, owner: JobOwner): Promise<{ status: JobStatus; outcome?: QueryOutcome } | undefined>;
  /** Cancel: a waiting job is dropped, a running one is cancelled on the server. */
  cancel(id: string, owner: JobOwner): Promise<JobStatus | undefined>;
  /** Stored jobs by state (every owner's); absent when the store cannot count. */
  counts?(): Promise<JobCounts>;
  close(): Promise<void>;
}

/** 144 random bits, URL-safe, no ':' (BullMQ reserves it) and never all digits. */
export function newJobId(): string {
  return `j_${randomBytes(18).toString('base64url')}`;
}

export function sameOwner(a: JobOwner | undefined, b: JobOwner): boolean {
  return a !== undefined && a.user === b.user && a.tenant === b.tenant;
}

/** What a finished outcome means for the job's state. */
export function finishedStatus(id: string, outcome: QueryOutcome): JobStatus {
  if (outcome.ok) return { id, state: 'completed' };
  if (outcome.error.code === 'CLIENT_CLOSED') return { id, state: 'cancelled' };
  return { id, state: 'failed', error: outcome.error };
}
