/**
 * Messages on the per-pool BroadcastChannel besides CancelMessage (messages.ts): piscina has no
 * teardown hook, so the host asks every thread to close its database pools and waits for the acks
 * before terminating the threads.
 */
import type { PoolStats } from '../drivers/driver.js';
import type { CancelMessage } from './messages.js';

export interface ShutdownMessage {
  type: 'shutdown';
}

export interface ShutdownAck {
  type: 'shutdown-done';
  threadId: number;
}

/** GET /metrics: every thread answers with its drivers' pool numbers (host sums them). */
export interface StatsRequest {
  type: 'stats';
  /** Matches replies to the scrape that asked: two scrapes may overlap. */
  requestId: string;
}

export interface StatsReply {
  type: 'stats-reply';
  requestId: string;
  threadId: number;
  /** Per connection this thread has opened so far. */
  stats: Record<string, PoolStats>;
}

/**
 * A thread's channel is open. A broadcast reaches only the channels open when it is posted, and
 * piscina hands tasks to its first threads before they have loaded the task file (and opened the
 * channel): the host then repeats the cancels of its jobs still in flight.
 */
export interface ThreadListening {
  type: 'listening';
  threadId: number;
}

export type ChannelMessage = CancelMessage | ShutdownMessage | ShutdownAck | StatsRequest | StatsReply | ThreadListening;

export function isChannelMessage(data: unknown): data is ChannelMessage {
  if (typeof data !== 'object' || data === null) return false;
  const type = (data as { type?: unknown }).type;
  return type === 'cancel' || type === 'shutdown' || type === 'shutdown-done' || type === 'stats' || type === 'stats-reply' || type === 'listening';
}
