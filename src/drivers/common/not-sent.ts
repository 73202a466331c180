/**
 * Errors a driver raised before the statement could reach the database: no connection could be
 * opened (or none passed its checkout validation). Only such a failure may be retried on another
 * server — a statement that may have started is never run twice: it may be what broke the
 * connection, and its first run may still be going on.
 */
const notSent = new WeakSet<Error>();

/** Marks `err` as raised before anything was sent; returns it, for `throw markNotSent(…)`. */
export function markNotSent<E extends Error>(err: E): E {
  notSent.add(err);
  return err;
}

export function wasNotSent(err: unknown): boolean {
  return err instanceof Error && notSent.has(err);
}
