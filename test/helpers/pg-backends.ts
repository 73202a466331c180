/**
 * The gateway's own Postgres sessions, found and killed from the test's admin connection. A
 * session counts as ours only when its application_name is the driver's ('sluice') AND its query
 * text names this suite's fresh schema (the rewrite always schema-qualifies tables): other suites'
 * and other engineers' sessions are never touched.
 */
import pg from 'pg';

export interface Backend {
  pid: number;
  state: string;
  waitEventType: string | null;
  query: string;
}

/** Sessions of the gateway whose last query names `schema` and matches the LIKE `pattern`. */
export async function gatewayBackends(admin: pg.Pool, schema: string, pattern = '%'): Promise<Backend[]> {
  const { rows } = await admin.query<{ pid: number; state: string; wait_event_type: string | null; query: string }>(
    `select pid, state, wait_event_type, query from pg_stat_activity
      where application_name = 'sluice' and pid <> pg_backend_pid()
        and strpos(query, $1) > 0 and query like $2`,
    [`${schema}.`, pattern],
  );
  return rows.map((r) => ({ pid: r.pid, state: r.state, waitEventType: r.wait_event_type, query: r.query }));
}

/** Sessions of the gateway blocked on a lock while running a statement matching `pattern`. */
export async function blockedBackends(admin: pg.Pool, schema: string, pattern: string): Promise<Backend[]> {
  return (await gatewayBackends(admin, schema, pattern)).filter((b) => b.state === 'active' && b.waitEventType === 'Lock');
}

/** pg_terminate_backend on exactly these pids (the caller found them with gatewayBackends). */
export async function terminateBackends(admin: pg.Pool, pids: number[]): Promise<void> {
  await admin.query('select pg_terminate_backend(pid) from unnest($1::int[]) as pid', [pids]);
}

/** pg_cancel_backend on exactly these pids. */
export async function cancelBackends(admin: pg.Pool, pids: number[]): Promise<void> {
  await admin.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [pids]);
}

/**
 * A lock held by the test's own session until `release()`: a transaction left open on a dedicated
 * connection (not the fixture's admin pool, which stays free for inspection), so the gateway's
 * statements that need the same lock wait on the server.
 */
export interface HeldLock {
  release(): Promise<void>;
}

export async function holdLock(url: string, statements: string[]): Promise<HeldLock> {
  const client = new pg.Client({ connectionString: url, application_name: 'sluice-test-lock' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('begin');
    for (const s of statements) await client.query(s);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  let released: Promise<void> | undefined;
  return {
    release() {
      released ??= client.query('rollback').then(
        () => client.end(),
        () => client.end(),
      );
      return released;
    },
  };
}
