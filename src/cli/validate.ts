/**
 * `sluice validate`: the config checks of start-up (interpolation, secret files, schema, TLS files)
 * and nothing else: no thread, database or Redis is touched, so it runs in CI or before a reload.
 * A bad config throws ConfigError (one line per issue, naming its key); cli.ts exits 2 with it.
 */
import { basename } from 'node:path';
import { loadConfigFile } from '../config/load.js';
import type { SluiceConfig } from '../config/types.js';
import type { Env } from '../config/interpolate.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** One line: what an operator checks at a glance before shipping the file. */
export function summarize(config: Readonly<SluiceConfig>): string {
  const connections = Object.entries(config.connections).map(([name, c]) => `${name} (${c.dialect})`);
  const queue = config.queue.redis === undefined ? 'in-process queue' : 'queue mode (redis)';
  const tenants = config.tenants === undefined ? '' : `, ${plural(Object.keys(config.tenants.routes).length, 'tenant route')}`;
  return [
    `${plural(connections.length, 'connection')}: ${connections.join(', ')}`,
    plural(Object.keys(config.permissions).length, 'role') + tenants,
    queue,
    `${plural(config.workers.threads, 'thread')}`,
    `listens on ${config.server.host}:${config.server.port}`,
  ].join('; ');
}

export function validate(configPath: string, out: (line: string) => void = console.log, env: Env = process.env): void {
  const config = loadConfigFile(configPath, env);
  out(`${basename(configPath)}: valid; ${summarize(config)}`);
}
