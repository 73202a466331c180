/** Polling with a bound: fault tests wait for a state (a backend blocked, Redis back) but never forever. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export { sleep };

/**
 * Calls `probe` every `everyMs` until it returns something other than undefined/false, and returns
 * that. Throws (naming `what`) when `timeoutMs` passes first.
 */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
