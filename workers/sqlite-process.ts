/**
 * Entry of the SQLite process that each worker thread forks per SQLite connection (see
 * src/drivers/sqlite/sqlite-process.ts). argv[2]: SqliteProcessOptions as JSON.
 */
import { runSqliteProcess } from '../src/drivers/sqlite/sqlite-child.js';
import type { SqliteProcessOptions } from '../src/drivers/sqlite/sqlite-protocol.js';

runSqliteProcess(JSON.parse(process.argv[2] ?? '{}') as SqliteProcessOptions);
