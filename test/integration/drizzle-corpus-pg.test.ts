/**
 * The Postgres Drizzle corpus end to end: every case on pg-proxy through `POST /data` (permissive
 * role) must answer what Drizzle's node-postgres driver answers on an identical database, except the
 * known failures (test/fixtures/drizzle-corpus/known-failures.ts), which must still fail.
 */
import { ISSUE13_GROUPS, PG_KNOWN_FAILURES } from '../fixtures/drizzle-corpus/known-failures.js';
import { pgCorpus } from '../fixtures/drizzle-corpus/pg-cases.js';
import { PG_LITERAL_CASES } from '../fixtures/drizzle-corpus/literal-cases.js';
import { describeCorpus } from '../helpers/drizzle-corpus/corpus-suite.js';
import { startPgCorpus } from '../helpers/drizzle-corpus/pg-target.js';
import { describeIfPg } from '../helpers/services.js';

describeCorpus({ dialect: 'pg', cases: pgCorpus, known: PG_KNOWN_FAILURES, groupTitles: ISSUE13_GROUPS, literals: PG_LITERAL_CASES, start: startPgCorpus }, describeIfPg);
