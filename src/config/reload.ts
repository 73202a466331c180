/**
 * What a config reload (SIGHUP, POST /admin/reload) may change: the connections' settings
 * (credentials, URLs, pool sizes), permissions, tenants and SQL allowlists. Everything else —
 * the listening socket, JWT settings, limits, queue, thread count — is fixed for the life of the
 * process, and so is the set of connection names (queues and pools are keyed by them). A reload
 * that touches any of those is refused as a whole, naming the keys, and the running config stays.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, type ConfigIssue } from './config-error.js';
import type { SluiceConfig } from './types.js';

export const RELOADABLE_KEYS = ['connections', 'permissions', 'tenants', 'sql'] as const satisfies readonly (keyof SluiceConfig)[];

export function checkReloadable(prev: Readonly<SluiceConfig>, next: Readonly<SluiceConfig>): void {
  const issues: ConfigIssue[] = [];
  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]) as Set<keyof SluiceConfig>;
  for (const key of keys) {
    if ((RELOADABLE_KEYS as readonly string[]).includes(key)) continue;
    if (!isDeepStrictEqual(prev[key], next[key])) issues.push({ path: key, message: 'changed; this needs a restart (a reload may change only connections, permissions, tenants and sql)' });
  }
  const before = Object.keys(prev.connections);
  const after = Object.keys(next.connections);
  if (!isDeepStrictEqual(before, after)) {
    issues.push({ path: 'connections', message: `the connection names changed (${before.join(', ')} → ${after.join(', ')}); this needs a restart` });
  }
  for (const name of after) {
    if (prev.connections[name]?.dialect !== next.connections[name]?.dialect) issues.push({ path: `connections.${name}`, message: 'the dialect changed; this needs a restart' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
}
