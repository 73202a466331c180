/**
 * `npm start`: a working gateway with no other service — an embedded SQLite file created and
 * seeded on first start, the in-process queue, a fresh development secret — and tokens to try it.
 * SLUICE_DEMO_DATABASE_URL=postgres://… runs the same demo on a Postgres instead.
 */
import { signDevToken } from '../auth/dev-token.js';
import { listenOrClose } from '../cli/serve.js';
import { createEngine, type Engine } from '../engine.js';
import { demoConfig } from './demo-config.js';
import { demoDatabaseFromEnv, describeDemoDatabase, setupDemoDatabase, type DemoDatabaseEnv } from './setup.js';

export interface DemoEnv extends DemoDatabaseEnv {
  PORT?: string;
}

export async function runDemo(env: DemoEnv = process.env, print: (s: string) => void = console.log): Promise<Engine> {
  const db = demoDatabaseFromEnv(env);
  const port = env.PORT !== undefined ? Number(env.PORT) : 8080;
  const { seeded } = await setupDemoDatabase(db);
  const engine = createEngine(demoConfig(db, port));
  const { url } = await listenOrClose(engine);
  const tokenFor = (tenant: number): Promise<string> =>
    signDevToken(engine.config, { sub: `demo-user-${tenant}`, role: 'member', tenant_id: tenant }, '12h');
  const [t1, t2] = await Promise.all([tokenFor(1), tokenFor(2)]);
  const body = JSON.stringify({ sql: 'select id, name, email from customers order by id', params: [], method: 'all' });
  print(`
sluice demo on ${url}  (${describeDemoDatabase(db)}${seeded ? ', freshly seeded' : ''})

tenant 1 token:
  ${t1}
tenant 2 token:
  ${t2}

try it (each token sees only its own tenant's customers; secret_note is never selectable):
  TOKEN=${t1}
  curl -s ${url}/data -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '${body}'

Ctrl-C stops the gateway.
`);
  return engine;
}
