/**
 * Messages on the per-pool BroadcastChannel besides CancelMessage (messages.ts): piscina has no
 * teardown hook, so the host asks every thread to close its database pools and waits for the acks
 * before terminating the threads.
 */
import type { CancelMessage } from './messages.js';

export interface ShutdownMessage {
  type: 'shutdown';
}

export interface ShutdownAck {
  type: 'shutdown-done';
  threadId: number;
}

export type ChannelMessage = CancelMessage | ShutdownMessage | ShutdownAck;

export function isChannelMessage(data: unknown): data is ChannelMessage {
  if (typeof data !== 'object' || data === null) return false;
  const type = (data as { type?: unknown }).type;
  return type === 'cancel' || type === 'shutdown' || type === 'shutdown-done';
}
