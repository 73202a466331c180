/**
 * Where the outcomes of a front's /data requests come back: ONE pub/sub channel per front process
 * (`<prefix>:replies:<front id>`), subscribed once on its own connection. A worker publishes each
 * request's outcome there the moment it has it (`encodeReply`), so a BullMQ job carrying several
 * requests never makes one wait for another, and no result needs a round trip of its own.
 *
 * Pub/sub delivers at most once: a message published while this connection is down is lost, so a
 * dropped subscription settles every waiter at once (QUEUE_UNAVAILABLE, through `onLost`), exactly
 * like a dropped command connection.
 */
import { randomBytes } from 'node:crypto';
import type { QueryOutcome } from '../../pool/messages.js';
import { createSubscriber } from './redis-options.js';
import { register } from './waiter-map.js';

export interface ReplyChannel {
  /** The channel name workers publish this front's outcomes on. */
  readonly channel: string;
  /** Resolves once subscribed (again, after a reconnect: the subscription is restored by ioredis). */
  ready(): Promise<void>;
  /** Register before the job is added; returns the unregister function. */
  watch(id: string, settle: (outcome: QueryOutcome) => void): () => void;
  /** true while the subscription's connection is up. */
  available(): boolean;
  close(): void;
}

/** One message: the request id, a newline, the outcome as JSON. Ids never contain a newline. */
export function encodeReply(id: string, outcome: QueryOutcome): string {
  return `${id}\n${JSON.stringify(outcome)}`;
}

export function replyChannelName(prefix: string, frontId: string): string {
  return `${prefix}:replies:${frontId}`;
}

/** A front's id: random, so two fronts on one prefix never share a channel or a job id. */
export function newFrontId(): string {
  return randomBytes(9).toString('base64url');
}

export function createReplyChannel(opts: { url: string; prefix: string; frontId: string; onLost(): void }): ReplyChannel {
  const channel = replyChannelName(opts.prefix, opts.frontId);
  const waiters = new Map<string, (outcome: QueryOutcome) => void>();
  const subscriber = createSubscriber(opts.url, 'sluice-front-replies');
  let up = false;
  let subscribed: Promise<void> | undefined;

  subscriber.on('message', (_channel: string, message: string) => {
    const nl = message.indexOf('\n');
    if (nl < 0) return;
    const settle = waiters.get(message.slice(0, nl));
    if (!settle) return; // answered already (client gone, timed out) or another incarnation's
    let outcome: QueryOutcome;
    try {
      outcome = JSON.parse(message.slice(nl + 1)) as QueryOutcome;
    } catch {
      return;
    }
    settle(outcome);
  });
  subscriber.on('ready', () => {
    up = true;
  });
  subscriber.on('close', () => {
    if (!up) return;
    up = false;
    opts.onLost();
  });

  return {
    channel,
    ready() {
      subscribed ??= subscriber.subscribe(channel).then(
        () => undefined,
        (e: unknown) => {
          subscribed = undefined;
          throw e;
        },
      );
      return subscribed;
    },
    watch: (id, settle) => register(waiters, id, settle),
    available: () => up && subscriber.status === 'ready',
    close() {
      up = false;
      subscriber.disconnect();
    },
  };
}
