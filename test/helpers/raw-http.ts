/**
 * Raw HTTP for hostile-input tests: bytes written to a fresh socket exactly as given, so no client
 * normalises paths, headers or framing on the way, and the answer read back by hand.
 */
import { connect } from 'node:net';

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

/**
 * Sends `bytes` on a fresh socket and reads until the answer is complete (its Content-Length has
 * arrived) or the server closes; a chunked body is de-chunked. Rejects when nothing that looks like
 * an HTTP response came back within `timeoutMs`.
 */
export function rawRequest(url: string, bytes: string | Buffer, timeoutMs = 5000): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const all = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(all);
      if (!m) return reject(new Error(`no HTTP response: ${JSON.stringify(all.slice(0, 200))}`));
      const split = all.indexOf('\r\n\r\n');
      const headers = all.slice(0, split);
      let bodyBytes: Buffer = Buffer.from(all.slice(split + 4), 'latin1');
      if (/\r\ntransfer-encoding: *chunked/i.test(headers)) bodyBytes = dechunk(bodyBytes);
      const text = bodyBytes.toString('utf8');
      resolve({ status: Number(m[1]), headers, contentType: /\r\ncontent-type: *([^\r]*)/i.exec(headers)?.[1] ?? '', body: parseBody(text), text });
    };
    const complete = (): boolean => {
      const all = Buffer.concat(chunks).toString('latin1');
      const split = all.indexOf('\r\n\r\n');
      if (split < 0) return false;
      const len = /\r\ncontent-length: *(\d+)/i.exec(all.slice(0, split));
      return len !== null && Buffer.byteLength(all.slice(split + 4), 'latin1') >= Number(len[1]);
    };
    const timer = setTimeout(() => (chunks.length > 0 ? finish() : (sock.destroy(), reject(new Error('raw request timed out')))), timeoutMs);
    sock.on('data', (d) => {
      chunks.push(d);
      if (complete()) finish();
    });
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', () => (chunks.length > 0 ? finish() : undefined));
    sock.write(bytes);
  });
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
