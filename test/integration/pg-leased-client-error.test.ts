/**
 * A server error that reaches a LEASED pg client while no query is waiting (found by
 * db-restart.test.ts: a fast shutdown's FATAL arriving right after a lease's reply). pg emits it as
 * an 'error' event and pg-pool removes its own listener at checkout, so without one of ours it was
 * an uncaught exception that killed the worker thread and failed every statement on it with 500.
 * Only our own backend is terminated; the shared server is never stopped.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PostgresConnectionConfig } from '../../src/config/types.js';
import { createPgPool } from '../../src/drivers/pg/pg-pools.js';
import { describeIfPg, PG_URL } from '../helpers/services.js';

const conn: PostgresConnectionConfig = { dialect: 'postgres', url: PG_URL, max: 2, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 2000 };

describeIfPg('a leased pg client whose backend dies between queries', () => {
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: PG_URL, application_name: 'sluice-test-admin' });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  it('is heard (logged), never an uncaught error, and is dropped by the pool at release', async () => {
    const logs: Array<{ msg: string; details: Record<string, unknown> }> = [];
    const pool = createPgPool(conn, { max: 2, applicationName: 'sluice-leased-error-test', idleTimeoutMs: 0 }, (msg, details) => void logs.push({ msg, details }));
    let leased: pg.PoolClient | undefined;
    try {
      const client = await pool.connect();
      leased = client;
      // The pool's own listener is gone while leased; ours must be there.
      expect(client.listenerCount('error')).toBeGreaterThan(0);
      const pid = (client as pg.PoolClient & { processID: number }).processID;
      await admin.query('select pg_terminate_backend($1)', [pid]);
      // Without a listener of ours the FATAL would surface as an uncaught exception here (vitest fails the run).
      for (let i = 0; i < 100 && !logs.some((l) => l.msg === 'leased postgres client failed'); i++) await new Promise((r) => setTimeout(r, 20));
      expect(logs.map((l) => l.msg)).toContain('leased postgres client failed');
      leased = undefined;
      client.release(new Error('backend terminated'));
      expect(pool.totalCount).toBe(0);
      // The pool hands out a working connection afterwards.
      const again = await pool.query('select 1 as one');
      expect(again.rows).toEqual([{ one: 1 }]);
      // Released clients go back to the pool's listener alone.
      const idle = await pool.connect();
      const leasedListeners = idle.listenerCount('error');
      idle.release();
      const reused = await pool.connect();
      expect(reused).toBe(idle);
      expect(reused.listenerCount('error')).toBe(leasedListeners);
      reused.release();
    } finally {
      // pool.end() waits for every leased client: a failed assertion must not turn into a hang.
      leased?.release(new Error('test over'));
      await pool.end();
    }
  });
});
