import { describe, expect, it } from 'vitest';
import { placeholderTextOrder } from '../../../src/sql/common/emit.js';
import { createValidator } from '../../../src/sql/create-validator.js';
import { dialectConfig } from '../../fixtures/drizzle-dialect-config.js';

describe('placeholderTextOrder: the order the bound values must follow', () => {
  it('lists named placeholders as they appear, skipping quoted strings and identifiers', () => {
    const sql = `UPDATE "t" SET "a" =  :c1  FROM (SELECT 1 WHERE x =  :g1 ) AS "u" WHERE 'it''s :g9 ' =  :g2  AND "col :c7 "" x" = \` :g8 \` AND y =  :c2 `;
    expect(placeholderTextOrder(sql)).toEqual(['c1', 'g1', 'g2', 'c2']);
  });

  it('ignores the DEFAULT marker and colons that are not a whole marker', () => {
    expect(placeholderTextOrder("INSERT INTO t (a, b, c) VALUES ( :sluice_default ,  :c1 , x:c9) AS v :cx ")).toEqual(['c1']);
  });

  it('agrees with the printer for UPDATE … SET … WHERE with row filters (client value first)', () => {
    const v = createValidator(dialectConfig('mysql'), 'main');
    const checked = v.check({ sql: 'update customers set name = ? where id = ?', role: 'member' });
    // The statement's own ? come in the printed order around the gateway's filter values.
    expect(checked.paramOrder?.[0]).toEqual({ kind: 'client', index: 0 });
    expect((checked.paramOrder ?? []).filter((p) => p.kind === 'client').map((p) => p.index)).toEqual([0, 1]);
  });
});
