/** What every JobQueue answers without queueing anything: its own refusals, as outcomes (submit never rejects). */
import type { SluiceConfig } from '../config/types.js';
import { ERRORS, type ErrorBody, type ErrorCode } from '../errors.js';
import type { QueryJob, QueryOutcome } from '../pool/messages.js';

/**
 * The outcome `{ ok: false, error }` of a refusal: the same body SluiceError#toBody() gives, built
 * without an Error (no stack trace to capture: under overload this runs for most requests).
 */
export function failure(code: ErrorCode, message?: string, retryAfter?: number): QueryOutcome {
  const error: ErrorBody = { code, message: message ?? ERRORS[code].message };
  if (retryAfter !== undefined) error.retryAfter = retryAfter;
  return { ok: false, error };
}

/** The refusal for a job that must not be queued at all, or undefined when it may go ahead. */
export function refuseAtSubmit(config: Readonly<SluiceConfig>, closed: boolean, job: QueryJob, signal: AbortSignal | undefined): QueryOutcome | undefined {
  if (closed) return failure('SHUTTING_DOWN');
  if (signal?.aborted) return failure('CLIENT_CLOSED');
  if (!Object.hasOwn(config.connections, job.connection)) return failure('UNKNOWN_CONNECTION', `No connection named "${job.connection}"`);
  return undefined;
}
