/**
 * The Postgres validator: parse with the real Postgres parser, check and rewrite the AST, deparse,
 * and re-parse the output to prove the deparser said exactly what the checked AST means. Results
 * are cached per (role, typings, SQL): claim values are parameters, so the rewrite is reusable.
 */
import { deparseSync } from 'pgsql-deparser';
import type { SluiceConfig } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { compilePermissions } from '../../permissions/model.js';
import { withStatementCache } from '../cached-validator.js';
import type { CachedValidator, CheckedStatement, CheckInput } from '../validator.js';
import { canonical, type Node } from './ast.js';
import { BUILTIN_FUNCTIONS, TYPING_CASTS } from './allowlists.js';
import { createCtx, numberGatewayParams, type WalkOptions } from './context.js';
import { parsePostgres } from './parser.js';
import { rewriteStatement } from './rewrite.js';
import { checkParsedSize, checkSqlText, type ScanSyntax } from '../common/statement-size.js';
import { boundedParams } from '../bind-params.js';

const SCAN: ScanSyntax = { postgres: true, hashComments: false, bracketIdentifiers: false };

export type { CachedValidator } from '../validator.js';

function typingCasts(typings: string[] | undefined): (string | null)[] {
  return (typings ?? []).map((t) => {
    if (!Object.hasOwn(TYPING_CASTS, t)) throw new SluiceError('INVALID_TYPING', `Unknown parameter typing "${t}"`);
    return TYPING_CASTS[t]!;
  });
}

function deparse(stmt: Node, version: number): string {
  try {
    return deparseSync({ version, stmts: [{ stmt }] } as never, { pretty: false });
  } catch (e) {
    // The deparser recurses per nesting level; whatever else it cannot print, we cannot send.
    if (e instanceof RangeError || /call stack/i.test(String(e))) throw new SluiceError('FILTER_NESTING_EXCEEDED', 'The statement is nested too deeply');
    throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'The statement could not be rewritten');
  }
}

/** Deparse, then prove the text parses back to exactly the AST we checked. */
function faithfulSql(stmt: Node, version: number): string {
  const sql = deparse(stmt, version);
  const again = parsePostgres(sql);
  if (JSON.stringify(canonical(again.stmts.map((s) => s.stmt))) !== JSON.stringify(canonical([stmt]))) {
    throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'The statement could not be rewritten faithfully');
  }
  return sql;
}

export function createPostgresValidator(config: SluiceConfig, connection: string, tier?: string): CachedValidator {
  const perms = compilePermissions(config, connection, tier);
  const opts: WalkOptions = {
    limits: config.limits,
    functions: new Set([...BUILTIN_FUNCTIONS, ...config.sql.allowFunctions]),
    types: new Set(config.sql.allowTypes),
  };

  function compute(input: CheckInput): CheckedStatement {
    const role = perms.role(input.role);
    if (!role) throw new SluiceError('ROLE_NOT_ALLOWED', `The role "${input.role}" has no permissions on connection "${connection}"`);
    if (input.sql.length > config.limits.maxSqlLength) throw new SluiceError('SQL_TOO_LONG');
    checkSqlText(input.sql, SCAN, config.limits);
    const parsed = parsePostgres(input.sql);
    checkParsedSize(parsed.stmts, (node) => typeof node.op === 'string' && node.op !== 'SETOP_NONE', config.limits);
    if (parsed.stmts.length !== 1) {
      throw new SluiceError(parsed.stmts.length === 0 ? 'SQL_PARSE_ERROR' : 'STATEMENT_NOT_ALLOWED', parsed.stmts.length === 0 ? 'The SQL is empty' : 'Exactly one statement is allowed');
    }
    const ctx = createCtx(role, perms.defaultSchema, opts, typingCasts(input.typings));
    const stmt = parsed.stmts[0]!.stmt;
    const rewritten = rewriteStatement(stmt, ctx);
    numberGatewayParams(ctx);
    const sql = faithfulSql(stmt, parsed.version);
    for (const fence of ctx.fences) fence();
    const fallbackSql = ctx.fences.length > 0 ? faithfulSql(stmt, parsed.version) : undefined;
    return {
      sql,
      ...(fallbackSql !== undefined && { fallbackSql }),
      kind: rewritten.kind,
      readOnly: rewritten.readOnly,
      clientParamCount: ctx.maxClientParam,
      claimParams: ctx.claimParams,
      tables: [...ctx.tables],
      rowCapped: rewritten.rowCapped,
      ...boundedParams(ctx.bounded, config.limits),
      ...(ctx.presetChecks.length > 0 && { presetChecks: ctx.presetChecks }),
    };
  }

  return withStatementCache(config, connection, compute);
}
