import { describe, expect, it } from 'vitest';
import { splitUpsert } from '../../../src/sql/common/upsert-split.js';

const split = (sql: string) => splitUpsert(sql, true);
const code = (sql: string): string => {
  try {
    split(sql);
  } catch (e) {
    return (e as { code: string }).code;
  }
  throw new Error(`expected a refusal for: ${sql}`);
};

describe('splitUpsert', () => {
  it('cuts ON CONFLICT out of an INSERT, keeping RETURNING with the INSERT', () => {
    expect(split('insert into t (a) values (:c1) on conflict ("t"."a") do update set a = excluded.a where a > 1 returning a')).toEqual({
      insert: 'insert into t (a) values (:c1)  returning a',
      target: '"t"."a"',
      action: 'update',
      update: ' set a = excluded.a where a > 1 ',
    });
    expect(split('INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING;')).toEqual({ insert: 'INSERT INTO t (a) VALUES (1)  ', action: 'nothing' });
  });

  it('leaves statements without a top-level ON CONFLICT alone', () => {
    expect(split("insert into t (a) values ('on conflict do nothing')")).toBeUndefined();
    expect(split('insert into t ("on conflict") values (1)')).toBeUndefined();
    expect(split('insert into t ([on conflict]) values (1)')).toBeUndefined();
    expect(split('select a from t join u on conflict = 1')).toBeUndefined();
    expect(split("insert into t (a) values ((select 'x' from u where a in (select 1) ))")).toBeUndefined();
  });

  it('refuses what it cannot place with certainty', () => {
    expect(code('insert into t (a) values (1) on conflict do nothing on conflict do nothing')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code('insert into t (a) values (1) on conflict (a) where a > 0 do nothing')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code('insert into t (a) values (1) on conflict (a) do update')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code('insert into t (a) values (1) on conflict (a) do nothing x')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code('insert into t (a) values (1) on conflict (a) , do nothing')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code('insert into t (a) values (1) on conflict /* x */ do nothing')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code('insert into t (a) values (1) conflict do nothing')).toBe('CONSTRUCT_NOT_ALLOWED');
    expect(code("insert into t (a) values ('x) on conflict do nothing")).toBe('SQL_PARSE_ERROR');
    expect(code('insert into t (a) values (1 on conflict do nothing')).toBe('SQL_PARSE_ERROR');
  });
});
