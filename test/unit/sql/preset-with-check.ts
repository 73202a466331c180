/**
 * Presets with WITH CHECK semantics, checked when the params are bound: the helper every
 * validator test uses, and the cases the MySQL and SQLite validators share (same `?` SQL).
 */
import { describe, expect, it } from 'vitest';
import { bindParams } from '../../../src/sql/bind-params.js';
import type { CheckedStatement } from '../../../src/sql/validator.js';
import { refusalCode } from './refusal-code.js';

type Check = (sql: string) => CheckedStatement;

/** The code bindParams refuses `sql` with, bound with `params` and `claims`; fails if it is accepted. */
export function boundRefusal(check: Check, sql: string, params: unknown[], claims: Record<string, unknown>): string {
  return refusalCode(() => bindParams(check(sql), params, claims), sql);
}

/** The MySQL/SQLite cases; `refusal` is the validator's refusal code for SQL refused when checked. */
export function questionMarkPresetSuite(dialect: string, check: Check, refusal: (sql: string) => string, tenant1: Record<string, unknown>): void {
  describe(`${dialect} validator: presets with WITH CHECK semantics`, () => {
    const refusedWhenBound = (sql: string, params: unknown[], claims: Record<string, unknown> = tenant1): string => boundRefusal(check, sql, params, claims);

    it('a param equal to the preset is accepted, and the claim itself is bound in its place', () => {
      const c = check('insert into customers (name, tenant_id) values (?, ?), (?, ?)');
      expect(c.presetChecks).toHaveLength(2);
      expect(bindParams(c, ['a', '1', 'b', 1], tenant1)).toEqual(['a', 1, 'b', 1]);
      expect(refusedWhenBound('insert into customers (name, tenant_id) values (?, ?), (?, ?)', ['a', 1, 'b', 2])).toBe('PRESET_COLUMN');
      expect(refusedWhenBound('insert into customers (name, tenant_id) values (?, ?)', ['a', '01'])).toBe('PRESET_COLUMN');
    });

    it('a literal becomes the gateway placeholder and is checked when bound', () => {
      const c = check("insert into customers (name, tenant_id) values ('a', 1)");
      expect(c.paramOrder).toEqual([{ kind: 'gateway', index: 0 }]);
      expect(bindParams(c, [], tenant1)).toEqual([1]);
      expect(refusedWhenBound("insert into customers (name, tenant_id) values ('a', 1)", [], { ...tenant1, tenant_id: 2 })).toBe('PRESET_COLUMN');
    });

    it('UPDATE SET: only the preset value; an expression is refused when checked', () => {
      expect(bindParams(check('update customers set tenant_id = ?, name = ?'), [1, 'n'], tenant1)).toEqual([1, 'n', 1]);
      expect(refusedWhenBound('update customers set tenant_id = ?, name = ?', [2, 'n'])).toBe('PRESET_COLUMN');
      expect(refusal('update customers set tenant_id = tenant_id + 0')).toBe('PRESET_COLUMN');
    });
  });
}
