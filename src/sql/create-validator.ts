import type { SluiceConfig } from '../config/types.js';
import type { Validator } from './validator.js';

/** Load whatever the dialects need once per thread (libpg-query is WASM). */
export async function loadSqlParsers(): Promise<void> {
  throw new Error('not implemented yet');
}

/** A cached validator for one connection of the config. Call loadSqlParsers() first. */
export function createValidator(_config: SluiceConfig, _connection: string): Validator {
  throw new Error('not implemented yet');
}
