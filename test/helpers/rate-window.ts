/**
 * The in-memory rate limiter counts in fixed windows aligned to the minute: a test that expects a
 * 429 after N requests gets a fresh budget half-way if a minute boundary falls inside it. Tests
 * that count call this first: if less than `needMs` is left of the current window, it waits for
 * the next one.
 */
import { sleep } from './wait-until.js';

const WINDOW_MS = 60_000;

export async function startOfRateWindow(needMs = 20_000): Promise<void> {
  const left = WINDOW_MS - (Date.now() % WINDOW_MS);
  if (left < needMs) await sleep(left + 50);
}
