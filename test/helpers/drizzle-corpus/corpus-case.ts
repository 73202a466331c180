/**
 * One statement (or a few) of the Drizzle corpus: a Drizzle query-builder call run the same way
 * on Drizzle's proxy driver through sluice and on Drizzle's native driver for that database.
 * `C` is the dialect's context (its database object, tables and the few driver-shaped helpers).
 */
export interface CorpusCase<C> {
  name: string;
  /** Changes data: afterwards both databases' tables are compared too (and reseeded if they differ). */
  write?: true;
  /**
   * The statement fixes no row order (no ORDER BY; RETURNING of a multi-row write follows the plan,
   * and sluice's rewrite may change the plan): rows are compared as multisets.
   */
  unordered?: true;
  /** A promise, a thenable Drizzle query, or (better-sqlite3's sync driver) the value itself. */
  run(c: C): unknown;
}

/** A case list with names checked unique at definition time. */
export function cases<C>(list: CorpusCase<C>[]): CorpusCase<C>[] {
  const seen = new Set<string>();
  for (const c of list) {
    if (seen.has(c.name)) throw new Error(`duplicate corpus case name: ${c.name}`);
    seen.add(c.name);
  }
  return list;
}

/**
 * Issue 13's failure groups (1–14), or a name for a failure the issue does not list. Each known
 * failure records the code it fails with today: an error code from sluice, or RESULT_DIFFERS /
 * STATE_DIFFERS when sluice answered but not what the native driver gives.
 */
export interface KnownFailure {
  group: number | string;
  code: string;
}

export type KnownFailures = Readonly<Record<string, KnownFailure>>;
