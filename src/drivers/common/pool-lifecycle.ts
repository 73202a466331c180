/**
 * The defaults of a connection's lifecycle keys (config `maxUses`, `maxLifetimeMs`,
 * `validateAfterIdleMs`), applied here so the normalized config only carries what the user set.
 */
import type { PoolLifecycle } from '../../config/types.js';

export const LIFECYCLE_DEFAULTS: Required<PoolLifecycle> = { maxUses: 0, maxLifetimeMs: 0, validateAfterIdleMs: 30_000 };

/** The longest a checkout validation ping may take before the connection counts as dead. */
export const VALIDATION_PING_MAX_MS = 2000;

/** Failed validations in one checkout before it gives up (each one closed a connection). */
export const MAX_VALIDATION_FAILURES = 3;

export function lifecycleOf(conn: PoolLifecycle): Required<PoolLifecycle> {
  return {
    maxUses: conn.maxUses ?? LIFECYCLE_DEFAULTS.maxUses,
    maxLifetimeMs: conn.maxLifetimeMs ?? LIFECYCLE_DEFAULTS.maxLifetimeMs,
    validateAfterIdleMs: conn.validateAfterIdleMs ?? LIFECYCLE_DEFAULTS.validateAfterIdleMs,
  };
}
