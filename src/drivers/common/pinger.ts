/**
 * Readiness probe for the host thread (`/readyz`): its own connection, so it answers even when
 * every worker thread's connections are busy with long statements. Same shape for every driver.
 */
export interface Pinger {
  /** Never throws. `error` is for the operator's log only: it can name hosts, users and paths. */
  ping(): Promise<{ ok: boolean; error?: string }>;
  close(): Promise<void>;
}
