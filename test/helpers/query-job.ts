/** A /data job as the edge builds it (member of tenant 1 on `main`, 20 s deadline), for queue-level suites. */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { QueryJob } from '../../src/pool/messages.js';

export function queryJob(sql: string, over: Partial<QueryJob> = {}): QueryJob {
  return {
    id: randomUUID(),
    connection: 'main',
    role: 'member',
    claims: { sub: 'u1', tenant_id: 1 },
    sql,
    params: [],
    method: 'all',
    deadline: Date.now() + 20_000,
    ...over,
  };
}

/** pg_sleep statements running on the server for connections named `appName`. */
export async function activePgSleeps(admin: pg.Pool, appName: string): Promise<number> {
  return (await admin.query("select count(*)::int as n from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep%'", [appName])).rows[0].n;
}
