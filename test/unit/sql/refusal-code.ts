/** The SluiceError code `run` throws; fails the test when it throws something else or nothing. */
import { expect } from 'vitest';
import { SluiceError } from '../../../src/errors.js';

export function refusalCode(run: () => unknown, what: string): string {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return (e as SluiceError).code;
  }
  throw new Error(`expected a refusal for: ${what}`);
}
