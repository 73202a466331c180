/**
 * The literal scan and the parsers agree where it matters: whenever a validator accepts a
 * statement, every quoted constant in the SQL it sends to the database (printed from the tree the
 * parser read) was found in the client's SQL by the scan. So a string cannot slip past
 * refuse-strings because the scan read the text differently from the parser (a comment marker, a
 * quote inside an identifier, an executable comment). Run over the Drizzle corpus (which holds
 * strings) and statements written to confuse a lexer.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/schema.js';
import { SluiceError } from '../../../src/errors.js';
import { createValidator, loadSqlParsers } from '../../../src/sql/create-validator.js';
import { refusedUnder, scanLiterals } from '../../../src/sql/literals/policy.js';
import { MYSQL_CORPUS_TABLES } from '../../fixtures/drizzle-corpus/mysql-schema.js';
import { PG_CORPUS_TABLES } from '../../fixtures/drizzle-corpus/pg-schema.js';
import { SQLITE_CORPUS_TABLES } from '../../fixtures/drizzle-corpus/sqlite-schema.js';
import { permissiveRole } from '../../helpers/drizzle-corpus/corpus-gateway.js';

beforeAll(async () => {
  await loadSqlParsers();
});

const tables = (names: readonly string[]) => ({ ...permissiveRole([...names, 't'], ['new_yorkers']) });

const config = parseConfig({
  auth: { jwt: { secret: 'a-secret-that-is-at-least-32-chars-long', algorithms: ['HS256'] } },
  connections: { pg: 'postgres://a@b/c', my: 'mysql://a@b/c', lite: './x.db' },
  permissions: {
    corpus: {
      pg: tables(PG_CORPUS_TABLES.map((t) => t.name)),
      my: tables(MYSQL_CORPUS_TABLES),
      lite: tables(SQLITE_CORPUS_TABLES),
    },
  },
});

const TRICKY: Record<string, string[]> = {
  pg: [
    "select id from t where a = 'x' -- '",
    "select id from t where a = $1 -- 'x'\n and b = 'y'",
    "select id from t where a = $1 -- x\r or a = 'y'",
    'select id from t where a = $1 /* /* nested */ \'x\' */ and b = \'y\'',
    'select "it\'s" from t where a = E\'\\\'\'',
    "select id from t where a = $q$it's$q$ and b = $$x$$",
    "select id from t where a = U&'d\\0061t' and b = B'1' and c = X'1F'",
    "select id from t where a = 'x'::text || 'y'",
  ],
  my: [
    "select id from t where a = 'x' -- '",
    "select id from t where a = ?--'x'",
    "select id from t where a = ? # 'x'\n and b = 'y'",
    "select id from t where a = ? -- x\r or a = 'y'",
    "select id from t where a = ? # x\r or a = 'y'",
    "select id from t where a = ? /*!50000 and b = 'x' */",
    "select id from t where a = \"x\" and `it's` = ?",
    "select id from t where a = 'it''s' and b = N'x'",
    "select id from t where a = x'1F' or a = 0x1F or a = b'1'",
  ],
  lite: [
    "select id from t where a = 'x' -- '",
    "select id from t where a = ?--'x'\n and b = 'y'",
    "select id from t where a = ? -- x\r or a = 'y'",
    "select \"it's\", [b'c], `d'e` from t where a = 'f'",
    "select id from t where a = X'1F' and b = 'it''s'",
  ],
};

function corpus(file: string): string[] {
  return (JSON.parse(readFileSync(new URL(`../../fixtures/drizzle-corpus/${file}-statements.json`, import.meta.url), 'utf8')) as { sql: string }[]).map((s) => s.sql);
}

const DIALECTS = [
  { connection: 'pg', dialect: 'postgres', statements: [...corpus('pg'), ...TRICKY.pg!] },
  { connection: 'my', dialect: 'mysql', statements: [...corpus('mysql'), ...TRICKY.my!] },
  { connection: 'lite', dialect: 'sqlite', statements: [...corpus('sqlite'), ...TRICKY.lite!] },
] as const;

describe('every quoted constant sent to the database was found in the client\'s SQL', () => {
  for (const { connection, dialect, statements } of DIALECTS) {
    it(dialect, () => {
      const validator = createValidator(config, connection);
      let withStrings = 0;
      const missed: string[] = [];
      for (const sql of statements) {
        let sent: string;
        try {
          sent = validator.check({ sql, role: 'corpus' }).sql;
        } catch (e) {
          if (e instanceof SluiceError) continue;
          throw e;
        }
        const quoted = (text: string): number => scanLiterals(text, dialect).filter((l) => refusedUnder('refuse-strings', l)).length;
        const out = quoted(sent);
        if (out > 0) withStrings++;
        if (out > 0 && quoted(sql) === 0) missed.push(sql);
      }
      expect(missed).toEqual([]);
      // Not vacuous: accepted statements with strings were compared.
      expect(withStrings).toBeGreaterThanOrEqual(5);
    });
  }
});
