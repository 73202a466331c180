/**
 * engine.close() (SIGTERM) must not wait out the HTTP keep-alive or headers timeout (~60–90 s)
 * for client connections that carry no request, while a request in flight still gets its answer.
 *
 * The reported case: a keep-alive client (fetch, i.e. undici) sends a request, then a slow one it
 * aborts. Undici then opens a spare connection that sends nothing; Node counts a connection that has
 * not sent a request yet as active (so headersTimeout can reap it), so server.close() — which only
 * closes idle keep-alive sockets — waited for it.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { settleWithin } from '../../src/timeouts.js';
import { blockedBackends, holdLock, type HeldLock } from '../helpers/pg-backends.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { post } from '../helpers/sluice-harness.js';
import { describeIfPg } from '../helpers/services.js';
import { PG_TEST_URL } from '../helpers/skip.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens, type TestTokens } from '../helpers/tokens.js';
import { waitUntil } from '../helpers/wait-until.js';

const SELECT = { sql: 'select id, name from customers order by id', method: 'all' };

/**
 * A failing close would take the server's keep-alive timeout (72 s by default); the bound is half
 * of it. The per-test timeout must exceed that bound, or a regression would show as a vitest
 * timeout instead of the assertion that names it.
 */
const SHUTDOWN_TEST_TIMEOUT_MS = 60_000;

describeIfPg('engine.close() with keep-alive clients', () => {
  let fixture: PgFixture;
  let tokens: TestTokens;
  let engine: Engine | undefined;
  let lock: HeldLock | undefined;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    fixture = await createPgFixture();
    tokens = await makeTokens();
  });

  afterEach(async () => {
    await lock?.release();
    lock = undefined;
    for (const s of sockets.splice(0)) s.destroy();
    if (engine) {
      // Whatever the test found, do not leave the server waiting on sockets for a minute.
      const closing = engine.close();
      engine.app.server.closeAllConnections();
      await closing;
      engine = undefined;
    }
  });

  afterAll(async () => {
    await fixture?.drop();
  });

  async function start(): Promise<{ url: string; keepAliveTimeout: number }> {
    engine = createEngine(testConfig(fixture.schema), { logger: false });
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    const { keepAliveTimeout, headersTimeout } = engine.app.server;
    // The bound below only means something if the server would hold a connection much longer.
    expect(keepAliveTimeout).toBeGreaterThanOrEqual(30_000);
    expect(headersTimeout).toBeGreaterThanOrEqual(30_000);
    return { url, keepAliveTimeout };
  }

  /** ms engine.close() took, or 'still open' if it had not finished within `boundMs`. */
  async function timeClose(boundMs: number): Promise<number | 'still open'> {
    const started = performance.now();
    const closed = engine!.close().then(() => performance.now() - started);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'still open'>((resolve) => (timer = setTimeout(() => resolve('still open'), boundMs)));
    const result = await Promise.race([closed, bound]).finally(() => clearTimeout(timer));
    if (result !== 'still open') engine = undefined;
    return result;
  }

  /** Opens a raw connection that sends nothing; resolves once connected. */
  async function unusedConnection(url: string): Promise<{ closedWithin(ms: number): Promise<boolean> }> {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise((resolve) => socket.once('connect', resolve));
    return { closedWithin: (ms) => settleWithin(closed, ms) };
  }

  /** Holds the fixture's customers table so the gateway's SELECT on it waits on the server. */
  async function blockSelects(): Promise<void> {
    lock = await holdLock(PG_TEST_URL, [`lock table ${fixture.schema}.customers in access exclusive mode`]);
  }

  const waitForBlockedSelect = (): Promise<unknown> =>
    waitUntil('the gateway SELECT blocked on the lock', async () => (await blockedBackends(fixture.admin, fixture.schema, '%customers%')).length > 0);

  it(
    'finishes well within the keep-alive timeout after a client aborted a /data request on a used keep-alive connection',
    async () => {
      const { url, keepAliveTimeout } = await start();
      // fetch keeps its connections alive: this one has carried traffic before the abort.
      expect((await post(url, tokens.tenant1, SELECT)).status).toBe(200);
      await blockSelects();
      const ac = new AbortController();
      const slow = post(url, tokens.tenant1, SELECT, { signal: ac.signal }).then(
        (r) => r.status,
        () => 'aborted',
      );
      await waitForBlockedSelect();
      ac.abort();
      expect(await slow).toBe('aborted');
      // The cancel reaches the statement: nothing of this request is left running on the server.
      await waitUntil('the aborted SELECT cancelled', async () => (await blockedBackends(fixture.admin, fixture.schema, '%customers%')).length === 0);
      await lock!.release();

      const took = await timeClose(keepAliveTimeout / 2);
      expect(took).not.toBe('still open');
    },
    SHUTDOWN_TEST_TIMEOUT_MS,
  );

  it(
    'does not wait for a connection that has not sent a request yet',
    async () => {
      const { url, keepAliveTimeout } = await start();
      expect((await post(url, tokens.tenant1, SELECT)).status).toBe(200);
      // A client (or a load balancer) that opened a connection ahead of need.
      const unused = await unusedConnection(url);

      const took = await timeClose(keepAliveTimeout / 2);
      expect(took).not.toBe('still open');
      expect(await unused.closedWithin(0)).toBe(true);
    },
    SHUTDOWN_TEST_TIMEOUT_MS,
  );

  it(
    "answers a request in flight while closing, and drops another client's unused connection",
    async () => {
      const { url, keepAliveTimeout } = await start();
      await blockSelects();
      const inFlight = post(url, tokens.tenant2, SELECT);
      await waitForBlockedSelect();
      // Another client's connection that carries no request.
      const unused = await unusedConnection(url);

      const took = timeClose(keepAliveTimeout / 2);
      // The unused connection goes at once, while the request is still waiting on the database.
      expect(await unused.closedWithin(keepAliveTimeout / 2)).toBe(true);
      expect(await blockedBackends(fixture.admin, fixture.schema, '%customers%')).toHaveLength(1);
      await lock!.release();

      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(res.headers.get('connection')).toBe('close');
      expect(res.body.rows).toEqual([
        [2, 'T2 Bob'],
        [4, 'T2 Dan'],
        [6, 'T2 Fay'],
      ]);
      expect(await took).not.toBe('still open');
    },
    SHUTDOWN_TEST_TIMEOUT_MS,
  );
});
