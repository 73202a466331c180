/** State carried through one walk of one statement. */
import type { Limits } from '../../config/types.js';
import { SluiceError, type ErrorCode } from '../../errors.js';
import type { RolePermissions } from '../../permissions/model.js';
import type { ParamSource, PresetCheck } from '../validator.js';
import type { Body } from './ast.js';
import type { ParamSink } from './filter-ast.js';
import type { Scope } from '../common/scope.js';
import type { CostContext, ShortValue } from '../common/function-costs.js';
import { SELF, type Growth } from '../common/value-growth.js';

export interface WalkOptions {
  limits: Limits;
  functions: ReadonlySet<string>;
  types: ReadonlySet<string>;
}

export interface Ctx extends ParamSink, CostContext {
  readonly perms: RolePermissions;
  readonly schema: string;
  readonly opts: WalkOptions;
  /** Cast for each client placeholder ($1 → index 0), from Drizzle typings. */
  readonly typings: readonly (string | null)[];
  readonly claimParams: ParamSource[];
  /** Preset values the client sent, checked when bound (preset-check.ts). */
  readonly presetChecks: PresetCheck[];
  /** Gateway placeholders, numbered after the client's once the walk knows how many those are. */
  readonly gatewayRefs: Body[];
  maxClientParam: number;
  readonly tables: Set<string>;
  scope: Scope | null;
  /**
   * CTE names visible here, innermost last, with the growth of their values (common/value-growth.ts);
   * undefined while the CTE's own body, or an earlier one of a RECURSIVE list, is being walked.
   */
  ctes: ReadonlyMap<string, Growth | undefined>[];
  /** The growth of every walked expression and query node. */
  readonly growth: WeakMap<object, Growth>;
  /** Client parameters whose length is checked when bound (patterns, search strings). */
  readonly bounded: ShortValue[];
  /** The statement's own WITH clause: the only place a data-modifying CTE is allowed (as in Postgres). */
  topWith: Body | undefined;
  /** Set once a data-modifying CTE was walked: the statement writes, whatever its top level is. */
  writes: boolean;
  /** Table references walked so far (limits.maxTableReferences). */
  tableRefs: number;
  relDepth: number;
  boolDepth: number;
  exprDepth: number;
  /**
   * Edits that turn the rewrite into its fenced form (see postgres-validator.ts): run only after
   * the fast form was deparsed.
   */
  readonly fences: (() => void)[];
}

/** `table`: the `schema.table` a permission refusal is about (SluiceError.table). */
export function refuse(code: ErrorCode, message: string, table?: string): never {
  throw new SluiceError(code, message, table === undefined ? {} : { table });
}

export function createCtx(perms: RolePermissions, schema: string, opts: WalkOptions, typings: readonly (string | null)[]): Ctx {
  const ctx: Ctx = {
    perms,
    schema,
    opts,
    typings,
    claimParams: [],
    presetChecks: [],
    gatewayRefs: [],
    maxClientParam: 0,
    tables: new Set(),
    scope: null,
    ctes: [],
    growth: new WeakMap(),
    bounded: [],
    topWith: undefined,
    writes: false,
    tableRefs: 0,
    relDepth: 0,
    boolDepth: 0,
    exprDepth: 0,
    fences: [],
    add(source) {
      const body: Body = { number: 0 };
      ctx.claimParams.push(source);
      ctx.gatewayRefs.push(body);
      return { ParamRef: body };
    },
    limits: opts.limits,
    bound(short) {
      ctx.bounded.push(short);
    },
  };
  return ctx;
}

/** Gateway params follow the client's: $max+1, $max+2, … */
export function numberGatewayParams(ctx: Ctx): void {
  ctx.gatewayRefs.forEach((body, i) => {
    body.number = ctx.maxClientParam + i + 1;
  });
}

/** Refuse any key of `body` not in `allowed` (fail closed on constructs we did not plan for). */
export function onlyKeys(type: string, body: Body, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(body)) {
    if (!allowed.has(key)) refuse('CONSTRUCT_NOT_ALLOWED', `${type}.${key} is not supported by the gateway`);
  }
}

export function isCte(ctx: Ctx, name: string): boolean {
  for (let i = ctx.ctes.length - 1; i >= 0; i--) if (ctx.ctes[i]!.has(name)) return true;
  return false;
}

/** The growth of a visible CTE's values; SELF for one whose body is still being walked (a recursive reference). */
export function cteGrowth(ctx: Ctx, name: string): Growth {
  for (let i = ctx.ctes.length - 1; i >= 0; i--) {
    const level = ctx.ctes[i]!;
    if (level.has(name)) return level.get(name) ?? SELF;
  }
  return SELF;
}
