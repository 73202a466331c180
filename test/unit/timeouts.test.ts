import { describe, expect, it, vi } from 'vitest';
import { settleWithin, withDeadline } from '../../src/timeouts.js';

describe('withDeadline', () => {
  it('passes the result or rejection through, and calls onTimeout only when the deadline passes', async () => {
    const onTimeout = vi.fn(() => new Error('late'));
    await expect(withDeadline(Promise.resolve(7), 50, onTimeout)).resolves.toBe(7);
    await expect(withDeadline(Promise.reject(new Error('boom')), 50, onTimeout)).rejects.toThrow('boom');
    expect(onTimeout).not.toHaveBeenCalled();
    await expect(withDeadline(new Promise(() => undefined), 5, onTimeout)).rejects.toThrow('late');
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });
});

describe('settleWithin', () => {
  it('is true when the work settles either way in time, false otherwise, and never rejects', async () => {
    await expect(settleWithin(Promise.resolve(), 50)).resolves.toBe(true);
    await expect(settleWithin(Promise.reject(new Error('x')), 50)).resolves.toBe(true);
    await expect(settleWithin(new Promise(() => undefined), 5)).resolves.toBe(false);
  });
});
