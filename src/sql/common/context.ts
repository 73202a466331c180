/** What a dialect tells the shared checker, and the state carried through one walk. */
import type { Limits } from '../../config/types.js';
import { SluiceError, type ErrorCode } from '../../errors.js';
import type { RolePermissions } from '../../permissions/model.js';
import type { ParamSource } from '../validator.js';
import type { Scope } from './scope.js';
import type { EmitDialect } from './emit.js';
import type { ConvertOptions } from './from-parser.js';
import type { Expr } from './ir.js';
import type { PlaceholderSyntax } from './placeholders.js';

export interface DialectSpec extends EmitDialect {
  /** node-sql-parser grammar. */
  parserDatabase: 'mariadb' | 'sqlite';
  placeholders: PlaceholderSyntax;
  convert: ConvertOptions;
  /** Built-in functions a statement may call (lower case). */
  functions: ReadonlySet<string>;
  /** Tables no permission can open (system schemas, catalogs). */
  blockedTable(schema: string, table: string): boolean;
  /** `column IN <claim array>`: the param is bound as a JSON array. */
  claimIn(column: Expr, param: Expr): Expr;
  /** A NULL literal in VALUES counts as "not supplied" (SQLite: Drizzle sends null for defaults). */
  nullIsDefault: boolean;
  /** MySQL: `values(col)` in ON DUPLICATE KEY UPDATE. */
  valuesFunction: boolean;
  /** SQLite: `ON CONFLICT … DO NOTHING/UPDATE`, split off before parsing (upsert-split.ts). */
  upsertClause: boolean;
  /**
   * LIMIT/OFFSET that keep a table's view from being merged into the query around it (and
   * outer predicates from being pushed into it): the fenced fallback (CheckedStatement.fallbackSql).
   */
  fence: { limit: string; offset?: string };
}

export interface GatewayParam {
  source: ParamSource;
  json: boolean;
}

export interface Ctx {
  readonly spec: DialectSpec;
  readonly perms: RolePermissions;
  readonly schema: string;
  readonly limits: Limits;
  readonly functions: ReadonlySet<string>;
  readonly gateway: GatewayParam[];
  /** Client params whose value is clamped to maxRows+1 (an outer LIMIT ?). */
  readonly capped: Set<string>;
  readonly tables: Set<string>;
  scope: Scope | null;
  ctes: ReadonlySet<string>[];
  /** Output aliases of the SELECTs being walked (SQLite and MySQL let some clauses name them). */
  aliases: ReadonlySet<string>[];
  relDepth: number;
  boolDepth: number;
  /** The AND/OR/NOT directly above the expression being walked, if any. */
  boolParent: string | undefined;
  exprDepth: number;
  /** Set while walking ON DUPLICATE KEY UPDATE: the columns `values(col)` may name. */
  insertValues: ReadonlySet<string> | null | undefined;
  locks: boolean;
  /** Edits that turn the rewrite into its fenced form; run only after the fast form was printed. */
  readonly fences: (() => void)[];
}

export function refuse(code: ErrorCode, message: string): never {
  throw new SluiceError(code, message);
}

/** A gateway placeholder bound to `source`. */
export function addParam(ctx: Ctx, source: ParamSource, json = false): Expr {
  ctx.gateway.push({ source, json });
  return { k: 'param', name: `g${ctx.gateway.length}` };
}

export function isCte(ctx: Ctx, name: string): boolean {
  for (let i = ctx.ctes.length - 1; i >= 0; i--) if (ctx.ctes[i]!.has(name)) return true;
  return false;
}
