/**
 * The MySQL/MariaDB Drizzle corpus end to end: every case on mysql-proxy through `POST /data`
 * (permissive role) must answer what Drizzle's mysql2 driver answers on an identical database,
 * except the known failures (test/fixtures/drizzle-corpus/known-failures.ts), which must still fail.
 */
import { ISSUE13_GROUPS, MYSQL_KNOWN_FAILURES } from '../fixtures/drizzle-corpus/known-failures.js';
import { mysqlCorpus } from '../fixtures/drizzle-corpus/mysql-cases.js';
import { MYSQL_LITERAL_CASES } from '../fixtures/drizzle-corpus/literal-cases.js';
import { describeCorpus } from '../helpers/drizzle-corpus/corpus-suite.js';
import { startMysqlCorpus } from '../helpers/drizzle-corpus/mysql-target.js';
import { describeIfMysql } from '../helpers/services.js';

describeCorpus({ dialect: 'mysql', cases: mysqlCorpus, known: MYSQL_KNOWN_FAILURES, groupTitles: ISSUE13_GROUPS, literals: MYSQL_LITERAL_CASES, start: startMysqlCorpus }, describeIfMysql);
