/**
 * Quotas on stored async jobs — queued, running, and finished but not yet expired — per owner (user
 * and tenant), per tenant, and in all (`queue.maxStoredJobs*`). A full quota refuses the NEW job
 * with 429 JOB_QUOTA_EXCEEDED; nothing stored is ever evicted to make room, since a store that
 * evicts lets one owner push out another's jobs and results. Only expired results are purged.
 * Both stores apply these: in memory (memory-job-store.ts) and in Redis (bullmq/redis-job-quotas.ts).
 */
import type { SluiceConfig } from '../config/types.js';
import { SluiceError, type ErrorBody } from '../errors.js';
import type { JobOwner } from './async-jobs.js';

/** Checked in this order: the most specific bound names the one to wait for. */
export const QUOTA_SCOPES = ['user', 'tenant', 'total'] as const;
export type QuotaScope = (typeof QUOTA_SCOPES)[number];

export type QuotaLimits = Record<QuotaScope, number>;

export function quotaLimits(config: Readonly<SluiceConfig>): QuotaLimits {
  const q = config.queue;
  return { user: q.maxStoredJobsPerUser, tenant: q.maxStoredJobsPerTenant, total: q.maxStoredJobs };
}

/** Owners are compared by (tenant, user); JSON keeps "a:b"+"c" apart from "a"+"b:c". */
export function ownerKey(owner: JobOwner): string {
  return JSON.stringify([owner.tenant, owner.user]);
}

const WHAT: Record<QuotaScope, (limit: number) => string> = {
  user: (n) => `You already have ${n} stored async jobs (queue.maxStoredJobsPerUser)`,
  tenant: (n) => `Your tenant already has ${n} stored async jobs (queue.maxStoredJobsPerTenant)`,
  total: (n) => `The gateway already holds ${n} stored async jobs (queue.maxStoredJobs)`,
};

/**
 * `freesAt`: epoch ms when the earliest stored job of the full bound expires (a job still queued or
 * running expires no sooner than resultTtlMs from now), for Retry-After.
 */
export function quotaRefusal(scope: QuotaScope, limits: QuotaLimits, freesAt: number, now: number): ErrorBody {
  const retryAfter = Math.max(1, Math.ceil((freesAt - now) / 1000));
  return new SluiceError('JOB_QUOTA_EXCEEDED', `${WHAT[scope](limits[scope])}; a slot frees when a finished job's result expires (queue.resultTtlMs)`, { retryAfter }).toBody();
}
