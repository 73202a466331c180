/**
 * Under overload, a request the queue would refuse is answered 503 OVERLOADED in onRequest, before
 * its body is read or parsed (a malformed body proves it: parsed, it would be a 400); a tenant the
 * queue would still take is not refused early (fairness), and its body is parsed as usual.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeIfPg } from '../helpers/services.js';
import { startHarness, type Harness } from '../helpers/sluice-harness.js';

/** Seconds of work for Postgres: holds the only connection until cancelled. */
const LONG = { sql: 'select count(*) from generate_series(1, 2000000000)' };
const MALFORMED = '{"sql": "select 1", ';

describeIfPg('overload is refused before the body is read', () => {
  let h: Harness;
  beforeAll(async () => {
    // One connection, one waiting place: the second job of a tenant fills the queue.
    h = await startHarness({ workers: { threads: 1 }, connection: { max: 1 }, queue: { maxWaiting: 1, maxWaitMs: 20_000 } });
  }, 60_000);
  afterAll(async () => {
    await h?.teardown();
  }, 30_000);

  it('a full queue answers 503 OVERLOADED with Retry-After without parsing the body; another tenant is still admitted', { timeout: 60_000 }, async () => {
    // Warm the thread (parsers) so the long statement starts at once.
    expect((await h.post(h.tokens.tenant1, { sql: 'select 1' })).status).toBe(200);
    // Not overloaded: the malformed body is parsed and refused as such.
    expect((await h.post(h.tokens.tenant1, MALFORMED)).status).toBe(400);

    const ac = new AbortController();
    const running = h.post(h.tokens.tenant1, LONG, { signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    const waiting = h.post(h.tokens.tenant1, LONG, { signal: ac.signal }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 500));
    try {
      const refused = await h.post(h.tokens.tenant1, MALFORMED);
      expect(refused.status).toBe(503);
      expect(refused.body.error.code).toBe('OVERLOADED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Tenant 2 has nothing running: the queue would take its job, so its body is read (400 here).
      const other = await h.post(h.tokens.tenant2, MALFORMED);
      expect(other.status).toBe(400);
    } finally {
      ac.abort();
      await Promise.all([running, waiting]);
    }
  });
});
