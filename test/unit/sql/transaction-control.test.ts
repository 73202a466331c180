import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/schema.js';
import { SluiceError } from '../../../src/errors.js';
import { createValidator, loadSqlParsers } from '../../../src/sql/create-validator.js';

const config = parseConfig({
  auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
  connections: { pg: 'postgres://a@b/c', my: 'mysql://a@b/c', lite: './x.db' },
  permissions: { member: { pg: { t: { select: { columns: '*' } } }, my: { t: { select: { columns: '*' } } }, lite: { t: { select: { columns: '*' } } } } },
});

beforeAll(async () => {
  await loadSqlParsers();
});

describe('transaction control is refused on every dialect, pointing to batch', () => {
  it.each(['pg', 'my', 'lite'])('%s', (connection) => {
    const validator = createValidator(config, connection);
    for (const sql of ['begin', 'BEGIN DEFERRED', 'start transaction', 'commit', 'end', 'rollback', 'savepoint a', 'release a']) {
      let error: unknown;
      try {
        validator.check({ sql, role: 'member' });
      } catch (e) {
        error = e;
      }
      expect(error, sql).toBeInstanceOf(SluiceError);
      expect((error as SluiceError).code, sql).toBe('STATEMENT_NOT_ALLOWED');
      expect((error as SluiceError).message, sql).toContain('batch');
    }
    // Not a false positive on ordinary statements.
    expect(validator.check({ sql: 'select * from t', role: 'member' }).kind).toBe('select');
  });
});
