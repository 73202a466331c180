/**
 * Runs corpus cases on both sides and decides each one's outcome: PASS, the gateway's error code,
 * RESULT_DIFFERS (answered, but not what the native driver returns), STATE_DIFFERS (a write left
 * the two databases different) or DRIZZLE_THREW (Drizzle could not map the gateway's answer).
 */
import type { CorpusCase } from './corpus-case.js';
import { canonical, normalize, sameAnswer } from './normalize.js';
import { SluiceAnswerError, type CapturedStatement } from './proxy-clients.js';

export type Side = 'sluice' | 'native';

export interface CorpusTarget<C> {
  sluice: C;
  native: C;
  /** Every corpus table's rows on one side, read directly from the database. */
  dump(side: Side): Promise<unknown>;
  /** Both databases back to the seed (after a write that did not behave the same on both). */
  reseed(): Promise<void>;
  /** What the sluice-side proxy posted; the runner takes the new entries after each case. */
  recorded: CapturedStatement[];
  /** Replaces per-run names (random databases) so recorded SQL is the same on every run. */
  stableSql(sql: string): string;
}

export interface CaseOutcome {
  name: string;
  code: string;
  detail: string;
  statements: Array<{ method: string; sql: string }>;
}

export const PASS = 'PASS';

function errorCode(err: unknown): { code: string; detail: string } {
  const inner = (err as { cause?: unknown }).cause ?? err;
  if (inner instanceof SluiceAnswerError) return { code: inner.code, detail: inner.message };
  return { code: 'DRIZZLE_THREW', detail: String((err as Error).message ?? err) };
}

function short(value: unknown): string {
  const text = canonical(value);
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

export async function runCase<C>(c: CorpusCase<C>, target: CorpusTarget<C>): Promise<CaseOutcome> {
  const now = Date.now();
  let expected: unknown;
  try {
    expected = normalize(await c.run(target.native), now);
  } catch (err) {
    throw new Error(`corpus case "${c.name}" fails on the native driver (a corpus bug): ${(err as Error).message}`);
  }
  const before = target.recorded.length;
  let code = PASS;
  let detail = '';
  try {
    const got = normalize(await c.run(target.sluice), now);
    if (!sameAnswer(got, expected, c.unordered)) {
      code = 'RESULT_DIFFERS';
      detail = `through sluice ${short(got)}\nnative        ${short(expected)}`;
    }
  } catch (err) {
    ({ code, detail } = errorCode(err));
  }
  if (c.write) {
    const [viaSluice, native] = [normalize(await target.dump('sluice'), now), normalize(await target.dump('native'), now)];
    if (code === PASS && !sameAnswer(viaSluice, native)) {
      code = 'STATE_DIFFERS';
      detail = `tables after the write differ:\nthrough sluice ${short(viaSluice)}\nnative        ${short(native)}`;
    }
    if (code !== PASS) await target.reseed();
  }
  const statements = target.recorded.slice(before).map((s) => ({ method: s.method, sql: target.stableSql(s.sql) }));
  return { name: c.name, code, detail, statements };
}
