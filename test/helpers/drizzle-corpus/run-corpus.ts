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

/** Runs one side; the two sides use different databases, so they run at the same time. */
async function settle(run: () => unknown, now: number): Promise<{ ok: true; value: unknown } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: normalize(await run(), now) };
  } catch (error) {
    return { ok: false, error };
  }
}

export async function runCase<C>(c: CorpusCase<C>, target: CorpusTarget<C>): Promise<CaseOutcome> {
  const now = Date.now();
  const before = target.recorded.length;
  const [native, viaSluice] = await Promise.all([settle(() => c.run(target.native), now), settle(() => c.run(target.sluice), now)]);
  if (!native.ok) {
    throw new Error(`corpus case "${c.name}" fails on the native driver (a corpus bug): ${(native.error as Error).message}`);
  }
  let code = PASS;
  let detail = '';
  if (!viaSluice.ok) {
    ({ code, detail } = errorCode(viaSluice.error));
  } else if (!sameAnswer(viaSluice.value, native.value, c.unordered)) {
    code = 'RESULT_DIFFERS';
    detail = `through sluice ${short(viaSluice.value)}\nnative        ${short(native.value)}`;
  }
  if (c.write) {
    const [sluiceTables, nativeTables] = await Promise.all([target.dump('sluice'), target.dump('native')]);
    if (code === PASS && !sameAnswer(normalize(sluiceTables, now), normalize(nativeTables, now))) {
      code = 'STATE_DIFFERS';
      detail = `tables after the write differ:\nthrough sluice ${short(normalize(sluiceTables, now))}\nnative        ${short(normalize(nativeTables, now))}`;
    }
    if (code !== PASS) await target.reseed();
  }
  const statements = target.recorded.slice(before).map((s) => ({ method: s.method, sql: target.stableSql(s.sql) }));
  return { name: c.name, code, detail, statements };
}
