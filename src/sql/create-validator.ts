import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import { loadPostgresParser } from './postgres/parser.js';
import { createPostgresValidator, type CachedValidator } from './postgres/postgres-validator.js';
import { createMysqlValidator } from './mysql/mysql-validator.js';
import { createSqliteValidator } from './sqlite/sqlite-validator.js';

/** Load whatever the dialects need once per thread (libpg-query is WASM). */
export async function loadSqlParsers(): Promise<void> {
  await loadPostgresParser();
}

/** A cached validator for one connection of the config. Call loadSqlParsers() first. */
export function createValidator(config: SluiceConfig, connection: string): CachedValidator {
  const conn = config.connections[connection];
  if (!conn) throw new Error(`unknown connection ${connection}`);
  switch (conn.dialect) {
    case 'postgres':
      return createPostgresValidator(config, connection);
    case 'mysql':
      return createMysqlValidator(config, connection);
    case 'sqlite':
      return createSqliteValidator(config, connection);
    default:
      throw new SluiceError('UNKNOWN_CONNECTION', `Dialect "${(conn as { dialect: string }).dialect}" is not supported`);
  }
}
