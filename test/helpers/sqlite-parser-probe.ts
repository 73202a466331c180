/**
 * Run in a fresh process by sqlite-parser-choice.test.ts: checks one SQLite statement with the parser
 * named in argv[2] (through the thread's validator creation path) and prints whether sql-parser-cst
 * was loaded.
 */
import { createRequire } from 'node:module';
import type { SqliteParser } from '../../src/config/types.js';
import { createValidator, loadSqlParsers } from '../../src/sql/create-validator.js';
import { dialectConfig } from '../fixtures/drizzle-dialect-config.js';

const parser = process.argv[2] as SqliteParser;
const config = dialectConfig('sqlite');
config.sql = { ...config.sql, sqliteParser: parser };
await loadSqlParsers();
const { sql } = createValidator(config, 'main').check({ sql: 'select id from customers', role: 'member' });
const cache = createRequire(import.meta.url).cache;
const loaded = Object.keys(cache).some((k) => k.includes(`${'/node_modules/'}sql-parser-cst/`));
process.stdout.write(JSON.stringify({ loaded, sql }));
