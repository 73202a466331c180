/**
 * Fault tests judge every answer the gateway gave: a 200 must carry the right rows, anything else
 * must be one of the few stable codes the fault allows. This collects answers and says which ones
 * are out of bounds, so a failure prints the offending answers rather than a count.
 */
import type { PostResult } from './sluice-harness.js';

export interface Answer {
  /** What the client asked, for the failure message. */
  label: string;
  status: number;
  code: string | undefined;
  retryAfter: string | null;
  ms: number;
  body: unknown;
}

export function answerOf(label: string, r: PostResult, ms: number): Answer {
  return { label, status: r.status, code: r.body?.error?.code, retryAfter: r.headers.get('retry-after'), ms: Math.round(ms), body: r.body };
}

/** `200` or `<status> <CODE>`: the key answers are tallied under. */
export function keyOf(a: Pick<Answer, 'status' | 'code'>): string {
  return a.status === 200 ? '200' : `${a.status} ${a.code ?? '?'}`;
}

export function tally(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) out[keyOf(a)] = (out[keyOf(a)] ?? 0) + 1;
  return out;
}

/** Load-shedding and outage codes tell the client when to come back. */
const RETRY_AFTER_CODES = new Set(['OVERLOADED', 'QUEUE_UNAVAILABLE', 'DATABASE_UNAVAILABLE']);

/** Answers whose key is not allowed, or a shed/outage 503 without a Retry-After header. */
export function outOfBounds(answers: readonly Answer[], allowed: readonly string[]): Answer[] {
  return answers.filter((a) => !allowed.includes(keyOf(a)) || (a.code !== undefined && RETRY_AFTER_CODES.has(a.code) && a.retryAfter === null));
}
