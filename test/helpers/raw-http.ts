/**
 * Raw HTTP for hostile-input tests: bytes written to a socket exactly as given, so no client
 * normalises paths, headers or framing on the way, and the answer read back by hand.
 */
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  status: number;
  /** The status line and headers, as received. */
  headers: string;
  contentType: string;
  /** Parsed JSON, or the text when the body is not JSON. */
  body: any;
  text: string;
}

/** Parsed JSON, or the text itself when it is not JSON (an HTML error page, an empty body). */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** An answer from everything received (latin1), its body de-chunked; undefined if it is not HTTP. */
function toAnswer(all: string): RawAnswer | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(all);
  if (!m) return undefined;
  const split = all.indexOf('\r\n\r\n');
  const headers = all.slice(0, split);
  let bodyBytes: Buffer = Buffer.from(all.slice(split + 4), 'latin1');
  if (/\r\ntransfer-encoding: *chunked/i.test(headers)) bodyBytes = dechunk(bodyBytes);
  const text = bodyBytes.toString('utf8');
  return { status: Number(m[1]), headers, contentType: /\r\ncontent-type: *([^\r]*)/i.exec(headers)?.[1] ?? '', body: parseBody(text), text };
}

/** Length in bytes of the first answer in `all` once it has fully arrived (by Content-Length). */
function answerLength(all: string): number | undefined {
  const split = all.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const len = /\r\ncontent-length: *(\d+)/i.exec(all.slice(0, split));
  if (len === null) return undefined;
  const end = split + 4 + Number(len[1]);
  return all.length >= end ? end : undefined;
}

interface Exchange {
  /** Everything received (latin1). */
  received: string;
  /** The error a write failed with (EPIPE, ECONNRESET), if one did. */
  writeError: string | undefined;
  timedOut: boolean;
  ms: number;
}

/**
 * Connects, writes `parts` in order, and reads until an answer is complete (its Content-Length has
 * arrived), the server closes, or `timeoutMs` passes. `readAfterWrite`: reading stays paused until
 * every part has been handed to the kernel, like a client that writes its whole request first.
 */
function exchange(url: string, parts: ReadonlyArray<string | Buffer>, timeoutMs: number, readAfterWrite: boolean): Promise<Exchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    if (readAfterWrite) sock.pause();
    const chunks: Buffer[] = [];
    const started = Date.now();
    let writeError: string | undefined;
    let done = false;
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ received: Buffer.concat(chunks).toString('latin1'), writeError, timedOut, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      if (answerLength(Buffer.concat(chunks).toString('latin1')) !== undefined) finish(false);
    });
    sock.on('end', () => finish(false));
    sock.on('close', () => finish(false));
    sock.on('error', (e: NodeJS.ErrnoException) => (writeError ??= e.code));
    parts.forEach((part, i) =>
      sock.write(part, (e) => {
        if (e) writeError ??= (e as NodeJS.ErrnoException).code;
        if (i === parts.length - 1) sock.resume();
      }),
    );
  });
}

/**
 * Sends `bytes` on a fresh socket and reads until the answer is complete (its Content-Length has
 * arrived) or the server closes; a chunked body is de-chunked. Rejects when nothing that looks like
 * an HTTP response came back within `timeoutMs`.
 */
export async function rawRequest(url: string, bytes: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  const { received, timedOut } = await exchange(url, [bytes], timeoutMs, false);
  if (timedOut && received === '') throw new Error('raw request timed out');
  const answer = toAnswer(received);
  if (!answer) throw new Error(`no HTTP response: ${JSON.stringify(received.slice(0, 200))}`);
  return answer;
}

export interface BlockingAnswer {
  /** The answer, if one arrived. */
  answer: RawAnswer | undefined;
  /** The error writing the request failed with (EPIPE, ECONNRESET), if it did. */
  writeError: string | undefined;
  /** ms from the first byte written until the server closed or the answer was complete. */
  ms: number;
}

/**
 * A client that writes its whole request before it reads anything (curl, Python's http.client,
 * most blocking clients): reading is paused until every byte has been handed to the kernel, so a
 * server that answers early and closes while the body is still arriving makes the write fail and
 * the answer go unread. Resolves when the answer is complete, the server closes, or `timeoutMs`.
 */
export async function blockingRequest(url: string, head: string, body: Buffer, timeoutMs = 15_000): Promise<BlockingAnswer> {
  const { received, writeError, ms } = await exchange(url, [head, body], timeoutMs, true);
  return { answer: toAnswer(received), writeError, ms };
}

export interface RawConnection {
  /** Writes `bytes` and resolves with the next answer on this connection. */
  send(bytes: string | Buffer, timeoutMs?: number): Promise<RawAnswer>;
  /** Writes more bytes (the rest of a request already sent). */
  write(bytes: string | Buffer): void;
  /** True once the server has closed (or reset) the connection. */
  closed(): boolean;
  /** Resolves when the connection is closed, or with false after `ms`. */
  waitClosed(ms: number): Promise<boolean>;
  destroy(): void;
}

/** One keep-alive socket for several requests in turn, answers read one at a time. */
export async function rawConnection(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const sock: Socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
  let buf = '';
  let isClosed = false;
  let waiter: (() => void) | undefined;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    waiter?.();
  });
  sock.on('error', () => undefined);
  sock.on('close', () => {
    isClosed = true;
    waiter?.();
  });
  return {
    send(bytes, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms; received ${JSON.stringify(buf.slice(0, 200))}`)), timeoutMs);
        const check = (): void => {
          const end = answerLength(buf);
          if (end === undefined && !isClosed) return;
          waiter = undefined;
          clearTimeout(timer);
          const all = end === undefined ? buf : buf.slice(0, end);
          buf = end === undefined ? '' : buf.slice(end);
          const answer = toAnswer(all);
          if (answer) resolve(answer);
          else reject(new Error(`connection closed without an answer: ${JSON.stringify(all.slice(0, 200))}`));
        };
        waiter = check;
        sock.write(bytes);
        check();
      });
    },
    write: (bytes) => void sock.write(bytes),
    closed: () => isClosed,
    waitClosed(ms) {
      if (isClosed) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), ms);
        sock.once('close', () => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
    destroy: () => sock.destroy(),
  };
}

function dechunk(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  while (i < b.length) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) break;
    const size = parseInt(b.subarray(i, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
