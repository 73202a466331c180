/**
 * sql-parser-cst is an opt-in parser (`sql.sqliteParser: sql-parser-cst`): it is GPL-2.0-or-later,
 * sluice is MIT, so it is not a dependency — users install it themselves (docs/parsers.md, "License").
 * Nothing imports it at module load; it is required here, the first time a validator that uses it is
 * created, and its absence is a start-up config error naming the key.
 */
import { createRequire } from 'node:module';
import type * as Cst from 'sql-parser-cst';
import { ConfigError } from '../../config/config-error.js';

export const CST_PACKAGE = 'sql-parser-cst';
/** The config key that selects it. */
export const CST_CONFIG_PATH = ['sql', 'sqliteParser'] as const;

/** Resolves and loads a package by name (node's require; tests inject their own). */
export type PackageRequire = (name: string) => unknown;
/** Resolves a package's path without loading it. */
export type PackageResolve = (name: string) => string;

const require = createRequire(import.meta.url);
const nodeRequire: PackageRequire = require;

/** What we use of the package. */
export interface CstModule {
  parse: typeof Cst.parse;
  cstTransformer: typeof Cst.cstTransformer;
}

let loaded: CstModule | undefined;

function notInstalled(e: unknown): ConfigError {
  const why = e instanceof Error && (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' ? 'is not installed' : `cannot be loaded (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  return ConfigError.at(CST_CONFIG_PATH, `"${CST_PACKAGE}" is chosen but ${CST_PACKAGE} ${why}: run \`npm install ${CST_PACKAGE}\` (GPL-2.0-or-later, see docs/parsers.md) or remove the key to use node-sql-parser`);
}

/** sql-parser-cst, loaded through `req`; a ConfigError naming the key when it cannot be. */
export function loadCst(req: PackageRequire = nodeRequire): CstModule {
  if (req === nodeRequire && loaded) return loaded;
  let mod: unknown;
  try {
    mod = req(CST_PACKAGE);
  } catch (e) {
    throw notInstalled(e);
  }
  const { parse, cstTransformer } = (mod ?? {}) as Partial<CstModule>;
  if (typeof parse !== 'function' || typeof cstTransformer !== 'function') throw notInstalled(new Error('not the expected package: parse or cstTransformer missing'));
  const out: CstModule = { parse, cstTransformer };
  if (req === nodeRequire) loaded = out;
  return out;
}

/** Start-up check (config/schema.ts): the package can be found, without loading it in this thread. */
export function requireCstInstalled(resolve: PackageResolve = require.resolve): void {
  try {
    resolve(CST_PACKAGE);
  } catch (e) {
    throw notInstalled(e);
  }
}
