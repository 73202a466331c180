/**
 * The do-it-yourself baseline: a Drizzle pg-proxy endpoint with the tenant filter written by hand.
 * No auth, no parsing, no checks, no threads — what sluice's overhead is measured against.
 */
import Fastify from 'fastify';
import pg from 'pg';
import { listenBare, type BareTarget } from './load.js';

export async function startBareProxy(opts: { dbUrl: string; schema: string; poolSize: number; tenant: number }): Promise<BareTarget> {
  const pool = new pg.Pool({ connectionString: opts.dbUrl, max: opts.poolSize, options: `-c search_path=${opts.schema}` });
  const app = Fastify({ logger: false });
  app.post<{ Body: { sql: string; params?: unknown[]; method?: 'all' | 'execute' } }>('/data', async (request) => {
    const { sql, params = [], method = 'all' } = request.body;
    // The hand-written tenant filter: the app's query must end in a WHERE clause.
    const text = `${sql} and "tenant_id" = $${params.length + 1}`;
    const result = await pool.query({ text, values: [...params, opts.tenant], ...(method === 'all' ? { rowMode: 'array' as const } : {}) });
    return { rows: result.rows, rowCount: result.rowCount, truncated: false };
  });
  return listenBare(app, () => pool.end());
}
