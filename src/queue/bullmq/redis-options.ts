/**
 * ioredis options, the one place they are decided. Fronts fail fast when Redis is away
 * (no offline queue: a /data request gets 503 at once instead of hanging); blocking readers and
 * workers wait for the reconnect (maxRetriesPerRequest: null, as BullMQ requires).
 */
import type { RedisOptions as BullRedisOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

const RETRY_MAX_MS = 1000;

function base(name: string): RedisOptions {
  return {
    connectionName: name,
    // Reconnect forever, quickly: recovery after a Redis restart must need no operator.
    retryStrategy: (times) => Math.min(times * 100, RETRY_MAX_MS),
    connectTimeout: 2000,
  };
}

/** A command connection for a front: commands fail at once while disconnected. */
export function createFrontClient(url: string, name: string): Redis {
  const client = new Redis(url, { ...base(name), enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  // Without a listener ioredis prints every failed reconnect; state is read from `status` instead.
  client.on('error', () => undefined);
  return client;
}

/** Options for BullMQ's own blocking connections (QueueEvents, Worker). */
export function blockingOptions(url: string, name: string): BullRedisOptions {
  return { url, ...base(name), maxRetriesPerRequest: null } as BullRedisOptions;
}

export function createSubscriber(url: string, name: string): Redis {
  const client = new Redis(url, { ...base(name), maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  return client;
}
