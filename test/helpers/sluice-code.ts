/** The SluiceError code a promise rejects with ('resolved' when it does not; any other error fails the test). */
import { expect } from 'vitest';
import { SluiceError } from '../../src/errors.js';

export async function sluiceCodeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SluiceError);
    return (e as SluiceError).code;
  }
  return 'resolved';
}
