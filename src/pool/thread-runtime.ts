/**
 * What one worker thread keeps for its lifetime: the SQL parsers (loaded once), and per connection
 * a validator (with its statement cache) and a driver (with its pools), all created lazily on the
 * first job that needs them.
 */
import type { SluiceConfig } from '../config/types.js';
import type { Driver } from '../drivers/driver.js';
import { SluiceError } from '../errors.js';
import { createValidator, loadSqlParsers } from '../sql/create-validator.js';
import type { Validator } from '../sql/validator.js';
import { createDriver } from './create-driver.js';
import type { ThreadLog } from './thread-log.js';

export interface ConnectionRuntime {
  validator: Validator & { lastWasCacheHit?: () => boolean };
  driver: Driver;
}

export interface ThreadRuntime {
  connection(name: string): Promise<ConnectionRuntime>;
  /** Register a running job; call the returned function when it ends. */
  track(jobId: string): () => void;
  cancel(jobId: string): void;
  isCancelled(jobId: string): boolean;
  close(): Promise<void>;
}

export function createThreadRuntime(config: SluiceConfig, log: ThreadLog): ThreadRuntime {
  let parsers: Promise<void> | undefined;
  const connections = new Map<string, ConnectionRuntime>();
  /** Jobs running on this thread; cancelled ones must not start a retry. */
  const active = new Map<string, { cancelled: boolean }>();
  let closed = false;

  function loadParsers(): Promise<void> {
    // A failed load is retried by the next job rather than poisoning the thread forever.
    parsers ??= loadSqlParsers().catch((e: unknown) => {
      parsers = undefined;
      throw e;
    });
    return parsers;
  }

  return {
    async connection(name) {
      if (closed) throw new SluiceError('SHUTTING_DOWN');
      const conn = Object.hasOwn(config.connections, name) ? config.connections[name] : undefined;
      if (!conn) throw new SluiceError('UNKNOWN_CONNECTION', `No connection named "${name}"`);
      await loadParsers();
      let rt = connections.get(name);
      if (!rt) {
        rt = { validator: createValidator(config, name), driver: createDriver(conn, log) };
        connections.set(name, rt);
      }
      return rt;
    },
    track(jobId) {
      active.set(jobId, { cancelled: false });
      return () => active.delete(jobId);
    },
    cancel(jobId) {
      const job = active.get(jobId);
      if (!job) return;
      job.cancelled = true;
      // Every driver no-ops on ids it is not running, so no job → connection map is needed.
      for (const rt of connections.values()) rt.driver.cancel(jobId).catch((err: unknown) => log('cancel failed', { err: String(err) }));
    },
    isCancelled: (jobId) => active.get(jobId)?.cancelled === true,
    async close() {
      closed = true;
      await Promise.allSettled([...connections.values()].map((rt) => rt.driver.close()));
      connections.clear();
    },
  };
}
