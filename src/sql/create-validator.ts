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

/**
 * A cached validator for one connection of the config, with the permissions of `tier` where a role
 * has none of its own for the connection ("@tier" keys). Call loadSqlParsers() first.
 */
export function createValidator(config: SluiceConfig, connection: string, tier?: string): CachedValidator {
  const conn = config.connections[connection];
  if (!conn) throw new Error(`unknown connection ${connection}`);
  switch (conn.dialect) {
    case 'postgres':
      return createPostgresValidator(config, connection, tier);
    case 'mysql':
      return createMysqlValidator(config, connection, tier);
    case 'sqlite':
      return createSqliteValidator(config, connection, tier);
    default:
      throw new SluiceError('UNKNOWN_CONNECTION', `Dialect "${(conn as { dialect: string }).dialect}" is not supported`);
  }
}
