/**
 * The default tenant lines: one per (connection, tenant), so a tenant's flood on one database
 * never holds back its own — or anyone's — work on another. Limits, most specific first: the
 * job's tier (`tiers[job.tier]`), the input's own defaults, then the built-in ones:
 *   maxConcurrent = max(1, floor(capacity / 2)), capacity = workers.threads × connections.<name>.max
 *                   (no tenant can take more than half a connection's slots unless configured to);
 *   maxWaiting    = 100.
 * Jobs without a tenant share the connection's tenant-less line.
 */
import type { SluiceConfig } from '../config/types.js';
import type { FairnessPolicy, TenantLimits } from './fair-queue.js';

export interface FairnessLimitsInput {
  maxConcurrent?: number;
  maxWaiting?: number;
  tiers?: Readonly<Record<string, { maxConcurrent?: number; maxWaiting?: number }>>;
}

export const DEFAULT_TENANT_MAX_WAITING = 100;

export function defaultFairnessPolicy(config: Readonly<SluiceConfig>, input: Readonly<FairnessLimitsInput> = {}): FairnessPolicy {
  const maxWaiting = input.maxWaiting ?? DEFAULT_TENANT_MAX_WAITING;
  const byConnection = new Map<string, TenantLimits>();
  for (const [name, conn] of Object.entries(config.connections)) {
    byConnection.set(name, { maxConcurrent: input.maxConcurrent ?? Math.max(1, Math.floor((config.workers.threads * conn.max) / 2)), maxWaiting });
  }
  const tiers = input.tiers ?? {};
  return (job) => {
    const base = byConnection.get(job.connection) ?? { maxConcurrent: 1, maxWaiting };
    // hasOwn: a tier named like an Object.prototype member ("constructor") must not match one.
    const tier = job.tier !== undefined && Object.hasOwn(tiers, job.tier) ? tiers[job.tier] : undefined;
    return {
      key: `${job.connection}\u0000${job.tenant ?? ''}`,
      maxConcurrent: tier?.maxConcurrent ?? base.maxConcurrent,
      maxWaiting: tier?.maxWaiting ?? base.maxWaiting,
    };
  };
}
