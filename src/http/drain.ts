/**
 * Reading what a client is still sending after sluice has decided its answer. A server that
 * answers and closes while the client is still writing makes the client's kernel see a reset:
 * clients that write the whole body before reading (curl, Python's http.client, most blocking
 * clients) get EPIPE/ECONNRESET and never read the 413 or 401 that was sent; keep-alive clients
 * lose the connection mid-request. So the rest is read and thrown away — but only up to a bound
 * in bytes and time, so a hostile client cannot make the gateway read forever; past the bound the
 * connection is closed anyway.
 */
import type { Readable } from 'node:stream';

export interface DrainBound {
  maxBytes: number;
  maxMs: number;
}

const MiB = 1024 * 1024;
/** How long a client may take to finish sending what will be thrown away. */
export const DRAIN_MS = 5_000;

/** Up to 4 × server.bodyLimit (at least 4 MiB) more bytes, within DRAIN_MS. */
export function drainBound(bodyLimit: number): DrainBound {
  return { maxBytes: Math.max(4 * bodyLimit, 4 * MiB), maxMs: DRAIN_MS };
}

/**
 * Reads and discards `stream` until it ends (true), or until it errors, closes, or passes the
 * bound (false). Nothing read is kept.
 */
export function discardUntilEnd(stream: Readable, bound: DrainBound): Promise<boolean> {
  if (stream.readableEnded) return Promise.resolve(true);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ended: boolean): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onFail);
      stream.off('close', onFail);
      resolve(ended);
    };
    const onData = (chunk: Buffer | string): void => {
      seen += chunk.length;
      if (seen > bound.maxBytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onFail = (): void => finish(false);
    const timer = setTimeout(onFail, bound.maxMs);
    timer.unref();
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onFail);
    stream.once('close', onFail);
    stream.resume();
  });
}
