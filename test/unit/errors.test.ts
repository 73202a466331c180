import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS, SluiceError } from '../../src/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error registry', () => {
  it.each(Object.entries(ERRORS))('%s is documented with its status', (code, { status }) => {
    const row = doc.split('\n').find((line) => line.includes(`\`${code}\``));
    expect(row, `docs/errors.md has no row for ${code}`).toBeDefined();
    expect(row).toContain(String(status));
  });

  it('every status is 4xx or 5xx', () => {
    for (const { status } of Object.values(ERRORS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\|\s*`([A-Z_]+)`/gm)].map((m) => m[1]);
    expect(documented.filter((c) => !(c! in ERRORS))).toEqual([]);
  });

  it('round-trips through the plain body, unknown codes becoming INTERNAL_ERROR', () => {
    const e = new SluiceError('OVERLOADED', 'busy', { retryAfter: 2 });
    expect(SluiceError.fromBody(e.toBody())).toMatchObject({ code: 'OVERLOADED', status: 503, retryAfter: 2 });
    expect(SluiceError.fromBody({ code: 'NOPE' as never, message: 'x' }).code).toBe('INTERNAL_ERROR');
  });
});
