import { defineConfig } from 'vitest/config';

/**
 * The SQLite suites run twice: on node-sql-parser (the default, in `default`) and again on the
 * opt-in sql-parser-cst (`sqlite-cst`, GPL-2.0-or-later, a devDependency here; docs/parsers.md).
 * The suites read SLUICE_TEST_SQLITE_PARSER through test/helpers/sqlite-parser.ts.
 */
const SQLITE_SUITES = [
  'test/unit/sql/sqlite-validator.test.ts',
  'test/integration/fuzz-sqlite.test.ts',
  'test/integration/drizzle-corpus-sqlite.test.ts',
];

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 20_000,
    projects: [
      { extends: true, test: { name: 'default', include: ['test/**/*.test.ts'] } },
      { extends: true, test: { name: 'sqlite-cst', include: SQLITE_SUITES, env: { SLUICE_TEST_SQLITE_PARSER: 'sql-parser-cst' } } },
    ],
  },
});
