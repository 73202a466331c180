/**
 * The two ways sluice bounds a wait, in one place: every timer is cleared however the race ends.
 */

/** What a drain adds to limits.queryTimeout: the statement's cancel (pg_cancel_backend, KILL QUERY) and its answer. */
const DRAIN_MARGIN_MS = 2000;

/**
 * How long a shutdown waits for work already running. A statement may run for the full
 * limits.queryTimeout, and one cut short by the drain fails for its client although it was allowed
 * to finish; past this, the database has stopped it anyway.
 */
export function drainWaitMs(queryTimeoutMs: number): number {
  return queryTimeoutMs + DRAIN_MARGIN_MS;
}

/** `work`, or a rejection with `onTimeout()` (called only then) if it has not settled within `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Waits for `work` to settle (either way), at most `ms`. Never rejects; true if it settled in time. */
export function settleWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
