/** One call's cancellation: the client's signal and its timeout, as one signal (no AbortSignal.any needed). */
import { SluiceError } from './errors.js';

export interface Deadline {
  signal: AbortSignal;
  /** ms left, Infinity without a timeout. */
  remaining(): number;
  /** The error to throw once `signal` fired. */
  error(cause?: unknown): SluiceError;
  dispose(): void;
}

export function startDeadline(timeoutMs: number, outer: AbortSignal | undefined): Deadline {
  const controller = new AbortController();
  const endsAt = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let timedOut = false;
  const timer = timeoutMs > 0 ? setTimeout(() => ((timedOut = true), controller.abort()), timeoutMs) : undefined;
  const onOuter = (): void => controller.abort();
  if (outer?.aborted) controller.abort();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: controller.signal,
    remaining: () => endsAt - Date.now(),
    error: (cause) =>
      timedOut
        ? new SluiceError({ code: 'TIMEOUT', status: 0, message: `sluice: no answer within ${timeoutMs} ms`, cause })
        : new SluiceError({ code: 'ABORTED', status: 0, message: 'sluice: the request was aborted', cause: cause ?? outer?.reason }),
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}

/** Resolves after `ms`, or rejects with the deadline's error when it fires first. */
export function sleep(ms: number, deadline: Deadline): Promise<void> {
  return new Promise((resolve, reject) => {
    if (deadline.signal.aborted) return reject(deadline.error());
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(deadline.error());
    };
    const timer = setTimeout(() => {
      deadline.signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    deadline.signal.addEventListener('abort', onAbort, { once: true });
  });
}
