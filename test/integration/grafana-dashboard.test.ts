/**
 * deploy/grafana/sluice-dashboard.json queries only metrics that exist: every `sluice_*` series
 * name in its queries (panels and variables) appears as a sample in the /metrics output of a real
 * engine that has served requests (ok, refused, cached and not), or of a real `sluice worker`
 * metrics server. A renamed metric breaks this test instead of silently blanking a panel.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { startWorkerMetricsServer, type WorkerMetricsServer } from '../../src/observability/worker-metrics-server.js';
import { createPiscinaWorkerPool, type PiscinaWorkerPool } from '../../src/pool/piscina-pool.js';
import { createPgFixture, type PgFixture } from '../helpers/pg-fixture.js';
import { post } from '../helpers/sluice-harness.js';
import { describeIfPg } from '../helpers/services.js';
import { testConfig } from '../helpers/test-config.js';
import { makeTokens } from '../helpers/tokens.js';

interface Panel {
  type: string;
  id: number;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { uid: string };
  targets?: { expr: string; refId: string; datasource?: { uid: string } }[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query: string | { query: string } }[] };
}

const dashboard = JSON.parse(readFileSync(new URL('../../deploy/grafana/sluice-dashboard.json', import.meta.url), 'utf8')) as Dashboard;
const queries = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ...dashboard.templating.list.map((v) => (typeof v.query === 'string' ? v.query : v.query.query)),
];
/** Series names as PromQL names them (histograms by their _bucket/_sum/_count series). */
const queried = [...new Set(queries.flatMap((q) => q.match(/\bsluice_[a-z_]*[a-z]\b/g) ?? []))].sort();

/** Names of the samples in a Prometheus text exposition (not just HELP/TYPE lines). */
function sampleNames(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => /^([a-zA-Z_:][\w:]*)/.exec(l)![1]!),
  );
}

describe('the dashboard file', () => {
  it('is a Grafana dashboard whose panels have unique ids and query through the datasource variable', () => {
    expect(dashboard.uid).toBe('sluice-overview');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const withQueries = dashboard.panels.filter((p) => p.type !== 'row');
    expect(withQueries.length).toBeGreaterThanOrEqual(15);
    for (const p of withQueries) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
    }
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance']);
    // Every series the docs list is on the dashboard (sluice_http_request_duration_seconds by its buckets, sum, count).
    expect(queried.length).toBeGreaterThanOrEqual(18);
  });
});

describeIfPg('every metric the dashboard queries', () => {
  let fixture: PgFixture;
  let engine: Engine;
  let pool: PiscinaWorkerPool;
  let worker: WorkerMetricsServer;
  let exposed: Set<string>;

  beforeAll(async () => {
    fixture = await createPgFixture();
    const config = testConfig(fixture.schema);
    engine = createEngine(config, { logger: false });
    const { url } = await engine.listen({ host: '127.0.0.1', port: 0 });
    const tokens = await makeTokens();
    const select = { sql: 'select id, name from customers order by id', method: 'all' };
    // A miss, then a hit of the validation cache; one refusal; requests of two tenants.
    for (const token of [tokens.tenant1, tokens.tenant1, tokens.tenant2]) expect((await post(url, token, select)).status).toBe(200);
    expect((await post(url, tokens.tenant1, { sql: 'select secret from nowhere', method: 'all' })).status).toBeGreaterThanOrEqual(400);
    const front = await (await fetch(`${url}/metrics`)).text();

    pool = createPiscinaWorkerPool({ ...parseConfig(config), workers: { ...parseConfig(config).workers, threads: 1 } });
    worker = await startWorkerMetricsServer({ pool, running: () => 0, token: undefined, host: '127.0.0.1', port: 0 });
    const workerText = await (await fetch(`${worker.url}/metrics`)).text();
    exposed = new Set([...sampleNames(front), ...sampleNames(workerText)]);
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await pool?.close();
    await engine?.close();
    await fixture?.drop();
  });

  it.each(queried)('%s is exposed', (name) => {
    expect(exposed.has(name), `${name} is not in /metrics; exposed: ${[...exposed].filter((n) => n.startsWith('sluice_')).join(', ')}`).toBe(true);
  });
});
