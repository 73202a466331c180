/**
 * The skip rule for sluice-level suites, delegating to the shared helper in services.ts: a missing
 * Postgres skips locally and fails under CI=true.
 */
import { PG_URL, pgAvailable, requireService } from './services.js';

export const PG_TEST_URL = PG_URL;

/** true: run the suite; false: skip it. Throws under CI so the run fails loudly. */
export async function requirePostgres(url: string = PG_TEST_URL): Promise<boolean> {
  return requireService('Postgres', await pgAvailable(url));
}
