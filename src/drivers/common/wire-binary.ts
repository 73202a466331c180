/**
 * Binary values on the wire, both ways, in the form JSON.stringify gives a Node Buffer:
 * `{ "type": "Buffer", "data": [bytes] }`. It is what Drizzle's proxy callbacks send for a Buffer
 * parameter (they JSON.stringify the params) and what `Buffer.from(value)` — and so Drizzle's blob
 * columns — read back. A Uint8Array, which is what a Buffer becomes across a worker-thread or IPC
 * boundary, would be written as `{"0":…,"1":…}` instead: results are converted where they are read.
 */

export interface WireBinary {
  type: 'Buffer';
  data: number[];
}

export function wireBinary(b: Uint8Array): WireBinary {
  return { type: 'Buffer', data: Array.from(b) };
}

function isByte(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255;
}

/**
 * A parameter in the wire form → its Buffer; anything else → undefined. Exactly the two keys and
 * only bytes, so no other object is ever read as binary.
 */
export function binaryFromWire(p: unknown): Buffer | undefined {
  if (p === null || typeof p !== 'object' || Array.isArray(p)) return undefined;
  const keys = Object.keys(p);
  if (keys.length !== 2) return undefined;
  const { type, data } = p as { type?: unknown; data?: unknown };
  if (type !== 'Buffer' || !Array.isArray(data) || !data.every(isByte)) return undefined;
  return Buffer.from(data as number[]);
}
