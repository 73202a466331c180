/** Hostile input must be refused the documented way: a 4xx in the sluice error shape with a registry code. */
import { expect } from 'vitest';
import { ERRORS } from '../../src/errors.js';

/** A 4xx in our error shape with a registry code whose status matches; returns the code. */
export function expectRefused(res: { status: number; body: any; text: string }, what: string): string {
  const ctx = `${what} → ${res.status} ${res.text.slice(0, 300)}`;
  expect(res.status, ctx).toBeGreaterThanOrEqual(400);
  expect(res.status, ctx).toBeLessThan(500);
  expect(res.body, ctx).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  const code = res.body.error.code as string;
  expect(Object.keys(ERRORS), ctx).toContain(code);
  expect(ERRORS[code as keyof typeof ERRORS].status, ctx).toBe(res.status);
  return code;
}
