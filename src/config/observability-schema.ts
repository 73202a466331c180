/**
 * `observability`: the Prometheus endpoint (GET /metrics, and `sluice worker --metrics-port`) and
 * the audit log (one record per /data and /jobs request). See docs/observability.md.
 */
import { z } from 'zod';
import { bool, int } from './coerce.js';

/** A shorter shared secret is guessable; the endpoint tells an attacker how loaded the gateway is. */
const MIN_TOKEN_LENGTH = 16;
/** Each tenant label value is a time series per histogram bucket: beyond this, use "_other". */
const MAX_TENANT_LABELS = 10_000;

/** Where audit records go: the main logger, a standard stream, nowhere, or a file (appended). */
export type AuditDestination = 'log' | 'stdout' | 'stderr' | 'off' | (string & {});

export interface ObservabilityConfig {
  metrics: {
    /** false: no /metrics route (404), and no worker metrics server. */
    enabled: boolean;
    /** When set, /metrics needs `Authorization: Bearer <token>`; never the JWT. */
    token?: string | undefined;
    /** Distinct tenant label values per engine; later tenants are counted as "_other". */
    maxTenantLabels: number;
    /** `sluice worker`: port of its own /metrics server (pool and breaker gauges); absent: none. */
    workerPort?: number | undefined;
  };
  audit: {
    destination: AuditDestination;
  };
}

export const observabilitySchema = z
  .strictObject({
    metrics: z
      .strictObject({
        enabled: bool().default(true),
        token: z.string().min(MIN_TOKEN_LENGTH, `must be at least ${MIN_TOKEN_LENGTH} characters`).optional(),
        maxTenantLabels: int(0, MAX_TENANT_LABELS).default(100),
        workerPort: int(0, 65535).optional(),
      })
      .prefault({}),
    audit: z
      .strictObject({
        // Anything but the four keywords is a file path (appended to, created if missing).
        destination: z.string().trim().min(1, 'must be log, stdout, stderr, off or a file path').default('log'),
      })
      .prefault({}),
  })
  .prefault({});
