/** Driver and pool tests expect a call to fail the sluice way: with a SluiceError, never another error. */
import { expect } from 'vitest';
import { SluiceError } from '../../src/errors.js';

/**
 * Awaits `p` and returns the SluiceError it rejects with, so the test can check its code. Fails
 * the test when `p` rejects with anything else, or resolves (throwing `expected`).
 */
export async function failure(p: Promise<unknown>, expected = 'expected a failure'): Promise<SluiceError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return e as SluiceError;
  }
  throw new Error(expected);
}
