/**
 * Redis names. One BullMQ queue per sluice connection, so a worker takes a connection's jobs only
 * while that connection has a free slot (pool exhaustion becomes queue depth, per connection).
 *
 * Seam for per-tenant fairness (issue 5): `queueNameFor` is the single place that decides where a
 * job waits; a fair scheduler would route by (connection, tenant) here and have workers rotate.
 */
export function queueNameFor(connection: string): string {
  return `data-${connection}`;
}

/**
 * Pub/sub channel on which fronts ask every worker to cancel a job by id: a plain id cancels it
 * whether it runs or not yet; `withdrawMessage(id)` only keeps it from starting (a /data request
 * that waited too long: once started it runs to its own answer).
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

const WITHDRAW = '?';

export function withdrawMessage(id: string): string {
  return WITHDRAW + id;
}

/** A cancel channel message: the id, and whether it only withdraws a job that has not started. */
export function parseCancelMessage(message: string): { id: string; withdrawOnly: boolean } {
  return message.startsWith(WITHDRAW) ? { id: message.slice(1), withdrawOnly: true } : { id: message, withdrawOnly: false };
}

/** Tombstone of an async job cancelled while it was still waiting (the job itself is removed). */
export function cancelledKey(prefix: string, id: string): string {
  return `${prefix}:cancelled:${id}`;
}

/**
 * Sorted sets counting stored async jobs (redis-job-quotas.ts): one per owner, one per tenant, one
 * for all. Owners and tenants are hashed: claim values never become key syntax. `reconciled`: the
 * marker that spaces out the reconciling of one set.
 */
export function jobQuotaKey(prefix: string, scope: 'user' | 'tenant' | 'total', id = '', kind: 'set' | 'reconciled' = 'set'): string {
  const base = `${prefix}:${kind === 'set' ? 'jobquota' : 'jobquota-reconciled'}`;
  return scope === 'total' ? `${base}:all` : `${base}:${scope}:${id}`;
}
