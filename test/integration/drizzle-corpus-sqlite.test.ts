/**
 * The SQLite Drizzle corpus end to end: every case on sqlite-proxy through `POST /data` (permissive
 * role) must answer what better-sqlite3's Drizzle driver answers on an identical database, except
 * the known failures (test/fixtures/drizzle-corpus/known-failures.ts, per SQLite parser: the
 * `sqlite-cst` vitest project runs this file again on sql-parser-cst), which must still fail.
 */
import { describe } from 'vitest';
import { ISSUE13_GROUPS, SQLITE_CST_KNOWN_FAILURES, SQLITE_KNOWN_FAILURES } from '../fixtures/drizzle-corpus/known-failures.js';
import { sqliteCorpus } from '../fixtures/drizzle-corpus/sqlite-cases.js';
import { SQLITE_LITERAL_CASES } from '../fixtures/drizzle-corpus/literal-cases.js';
import { describeCorpus } from '../helpers/drizzle-corpus/corpus-suite.js';
import { startSqliteCorpus } from '../helpers/drizzle-corpus/sqlite-target.js';
import { SQLITE_CST } from '../helpers/sqlite-parser.js';

describeCorpus({ dialect: 'sqlite', cases: sqliteCorpus, known: SQLITE_CST ? SQLITE_CST_KNOWN_FAILURES : SQLITE_KNOWN_FAILURES, groupTitles: ISSUE13_GROUPS, literals: SQLITE_LITERAL_CASES, start: startSqliteCorpus }, describe);
