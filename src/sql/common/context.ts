/** What a dialect tells the shared checker, and the state carried through one walk. */
import type { Limits } from '../../config/types.js';
import { SluiceError, type ErrorCode } from '../../errors.js';
import type { RolePermissions } from '../../permissions/model.js';
import type { ParamSource, PresetCheck } from '../validator.js';
import type { Scope } from './scope.js';
import type { EmitDialect } from './emit.js';
import type { ConvertOptions } from './from-parser.js';
import type { Expr, Statement } from './ir.js';
import type { PlaceholderSyntax } from './placeholders.js';
import type { CostContext, FunctionCost, ShortValue } from './function-costs.js';
import { SELF, type Growth } from './value-growth.js';

export interface DialectSpec extends EmitDialect {
  /** Parses one placeholder-named statement into our tree (`gatewayParams`: also `:g<n>`, our own output). */
  reader(opts: ConvertOptions, gatewayParams: boolean): (sql: string) => Statement;
  placeholders: PlaceholderSyntax;
  convert: ConvertOptions;
  /** Built-in functions a statement may call (lower case). */
  functions: ReadonlySet<string>;
  /** What each function costs (function-costs.ts); absent: 'sum'. */
  costs: Readonly<Record<string, FunctionCost>>;
  /** Cast types that pad to their length (MySQL BINARY(n)): n ≤ limits.maxPadLength. */
  paddedCasts: ReadonlySet<string>;
  /** Tables no permission can open (system schemas, catalogs). */
  blockedTable(schema: string, table: string): boolean;
  /** `column IN <claim array>`: the param is bound as a JSON array. */
  claimIn(column: Expr, param: Expr): Expr;
  /** A NULL literal in VALUES counts as "not supplied" (SQLite: Drizzle sends null for defaults). */
  nullIsDefault: boolean;
  /** MySQL: `values(col)` in ON DUPLICATE KEY UPDATE. */
  valuesFunction: boolean;
  /**
   * LIMIT/OFFSET that keep a table's view from being merged into the query around it (and
   * outer predicates from being pushed into it): the fenced fallback (CheckedStatement.fallbackSql).
   */
  fence: { limit: string; offset?: string };
  /**
   * SQLite: every CTE of a WITH list is in scope in every body of that list, its own included
   * (a self-reference is a recursive one, RECURSIVE or not). MariaDB: a body sees only the earlier
   * ones; its own name and the later ones mean the table there.
   */
  cteNamesInAllBodies: boolean;
  /**
   * SQLite: a CTE body of a nested WITH (in a derived table or subquery) sees the CTEs of the WITH
   * lists around it. MariaDB: it does not — the name means the table there (`WITH customers AS
   * (…) SELECT * FROM (WITH x AS (SELECT * FROM customers) …)` reads the base table).
   */
  cteBodiesSeeOuterCtes: boolean;
}

/** One WITH list being walked. */
export interface CteFrame {
  /** Every CTE name of the list, as written. */
  readonly names: readonly string[];
  /** The names that mean the CTE where the walk is now (see withClause in query.ts). */
  readonly visible: ReadonlySet<string>;
  /** The growth of each CTE's values once its body is walked (value-growth.ts). */
  readonly growth: ReadonlyMap<string, Growth>;
  /** One of the list's CTE bodies is being walked. */
  inBody: boolean;
}

export interface GatewayParam {
  source: ParamSource;
  json: boolean;
}

export interface Ctx extends CostContext {
  readonly spec: DialectSpec;
  readonly perms: RolePermissions;
  readonly schema: string;
  readonly limits: Limits;
  readonly functions: ReadonlySet<string>;
  readonly gateway: GatewayParam[];
  /** Preset values the client sent, checked when bound (preset-check.ts). */
  readonly presetChecks: PresetCheck[];
  /** Client params whose value is clamped to maxRows+1 (an outer LIMIT ?). */
  readonly capped: Set<string>;
  readonly tables: Set<string>;
  scope: Scope | null;
  ctes: CteFrame[];
  /** Output aliases of the SELECTs being walked (SQLite and MySQL let some clauses name them). */
  aliases: ReadonlySet<string>[];
  relDepth: number;
  boolDepth: number;
  /** The AND/OR/NOT directly above the expression being walked, if any. */
  boolParent: string | undefined;
  exprDepth: number;
  /**
   * Set while walking ON DUPLICATE KEY UPDATE: the target's name (`values(table.col)` may qualify
   * the column with it) and the columns `values(col)` may name (null: any).
   */
  insertValues: { table: string; columns: ReadonlySet<string> | null } | undefined;
  locks: boolean;
  /** Edits that turn the rewrite into its fenced form; run only after the fast form was printed. */
  readonly fences: (() => void)[];
  /** The growth of every walked expression and query (value-growth.ts). */
  readonly growth: WeakMap<object, Growth>;
  /** Client parameters whose length is checked when bound (patterns, search strings). */
  readonly bounded: ShortValue[];
  /** FROM items walked so far (limits.maxTableReferences). */
  tableRefs: number;
}

/** `table`: the `schema.table` a permission refusal is about (SluiceError.table). */
export function refuse(code: ErrorCode, message: string, table?: string): never {
  throw new SluiceError(code, message, table === undefined ? {} : { table });
}

/** A gateway placeholder bound to `source`. */
export function addParam(ctx: Ctx, source: ParamSource, json = false): Expr {
  ctx.gateway.push({ source, json });
  return { k: 'param', name: `g${ctx.gateway.length}` };
}

/**
 * Whether a bare table name means a CTE (left as it is) or the table (rewritten into its view).
 * Resolved as the database does, innermost WITH list first; refused where engines disagree:
 * - MariaDB and SQLite match CTE names case-insensitively (MySQL 8 may not): a name equal to a
 *   CTE's but for case is refused, whichever it would mean;
 * - a name of the list being walked that is not visible yet (the body's own, a later CTE's) stops
 *   the search: MariaDB reads the table there even where an outer WITH has a CTE of that name
 *   (passing it on to the outer CTE left the table unfiltered), SQLite reads this list's CTE;
 * - inside a CTE body, MariaDB does not look past the body's own WITH list (cteBodiesSeeOuterCtes):
 *   a name of an outer list's CTE is refused there, since MariaDB would read the table.
 */
/** The growth of a CTE's values (isCte said the name means it); SELF while its body is being walked. */
export function cteGrowth(ctx: Ctx, name: string): Growth {
  for (let i = ctx.ctes.length - 1; i >= 0; i--) {
    const frame = ctx.ctes[i]!;
    if (frame.names.includes(name)) return frame.growth.get(name) ?? SELF;
  }
  return SELF;
}

export function isCte(ctx: Ctx, name: string): boolean {
  const lower = name.toLowerCase();
  let sealed = false;
  for (let i = ctx.ctes.length - 1; i >= 0; i--) {
    const frame = ctx.ctes[i]!;
    const match = frame.names.find((n) => n.toLowerCase() === lower);
    if (match === undefined) {
      if (frame.inBody && !ctx.spec.cteBodiesSeeOuterCtes) sealed = true;
      continue;
    }
    if (sealed) {
      refuse('CONSTRUCT_NOT_ALLOWED', `"${name}" names a CTE of an outer WITH inside the body of a nested one, where MariaDB reads the table of that name instead; move the CTE into the nested WITH`);
    }
    if (match !== name) refuse('CONSTRUCT_NOT_ALLOWED', `"${name}" differs from the CTE name "${match}" only in case; write it exactly as the CTE is named`);
    if (frame.visible.has(name)) return true;
    if (ctx.spec.cteNamesInAllBodies) {
      refuse('CONSTRUCT_NOT_ALLOWED', `"${name}" names a CTE of this WITH list that is not defined before this point; qualify the table (main.${name}) to mean the table`);
    }
    return false;
  }
  return false;
}
