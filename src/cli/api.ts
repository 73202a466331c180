/** `sluice api`: the HTTP front only. It enqueues to Redis; `sluice worker` processes run the queries. */
import { loadConfigFile } from '../config/load.js';
import { createEngine, type Engine } from '../engine.js';
import { listenOrClose, reloadOnSignal } from './serve.js';
import { UsageError } from './usage.js';

export async function api(configPath: string, listen: { port?: number; host?: string }): Promise<Engine> {
  const config = loadConfigFile(configPath);
  if (config.queue.redis === undefined) {
    throw new UsageError(`sluice api needs "queue": { "redis": "redis://…" } in ${configPath}: the front only enqueues, and workers take the jobs from Redis (use "sluice serve" without Redis)`);
  }
  const engine = createEngine(config, { role: 'api', configSource: () => loadConfigFile(configPath) });
  await listenOrClose(engine, listen);
  reloadOnSignal(engine, configPath);
  return engine;
}
