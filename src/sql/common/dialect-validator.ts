/**
 * The validator shared by MySQL/MariaDB and SQLite: name the `?` placeholders, parse with the
 * dialect's reader into our closed tree (refusing anything unknown), check and rewrite it,
 * print it with our own emitter, and re-parse that output to prove it says exactly what we checked.
 * Results are cached per (role, SQL): claim values are parameters, so the rewrite is reusable.
 */
import type { SluiceConfig } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { compilePermissions } from '../../permissions/model.js';
import { withStatementCache } from '../cached-validator.js';
import type { CachedValidator, CheckedStatement, CheckInput, ParamSlot, StatementKind } from '../validator.js';
import type { Ctx, DialectSpec } from './context.js';
import { deleteStmt, insertStmt, updateStmt } from './dml.js';
import { emitStatement, placeholderTextOrder, type Emitted } from './emit.js';
import type { Select, Statement } from './ir.js';
import { namePlaceholders } from './placeholders.js';
import { selectBody } from './query.js';
import { checkParsedSize, checkSqlText, type ScanSyntax } from './statement-size.js';
import { boundedParams } from '../bind-params.js';

/** Canonical JSON: keys sorted, undefined dropped. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]));
  });
}

/** LIMIT maxRows+1 on the outermost query (the last member of a set operation holds its LIMIT). */
function capRows(s: Select, ctx: Ctx): void {
  let last = s;
  while (last.setOp) last = last.setOp.next;
  const cap = ctx.limits.maxRows + 1;
  const limit = last.limit;
  if (!limit) last.limit = { k: 'num', v: String(cap) };
  else if (limit.k === 'num') {
    if (!/^\d+$/.test(limit.v)) throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'LIMIT must be a non-negative integer');
    if (Number(limit.v) > cap) last.limit = { k: 'num', v: String(cap) };
  } else if (limit.k === 'param') ctx.capped.add(limit.name);
  else throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'LIMIT must be a number or a placeholder');
}

function rewrite(stmt: Statement, ctx: Ctx): { kind: StatementKind; readOnly: boolean; rowCapped: boolean } {
  switch (stmt.k) {
    case 'select':
      selectBody(stmt, ctx, null);
      capRows(stmt, ctx);
      return { kind: 'select', readOnly: !ctx.locks, rowCapped: true };
    case 'insert':
      insertStmt(stmt, ctx);
      return { kind: 'insert', readOnly: false, rowCapped: false };
    case 'update':
      updateStmt(stmt, ctx);
      return { kind: 'update', readOnly: false, rowCapped: false };
    case 'delete':
      deleteStmt(stmt, ctx);
      return { kind: 'delete', readOnly: false, rowCapped: false };
  }
}

function paramOrder(order: string[], clientCount: number, ctx: Ctx): ParamSlot[] {
  const seen = new Set<string>();
  const slots = order.map((name): ParamSlot => {
    if (seen.has(name)) throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'A placeholder is used twice');
    seen.add(name);
    const index = Number(name.slice(1)) - 1;
    if (name.startsWith('g')) return { kind: 'gateway', index, ...(ctx.gateway[index]!.json && { json: true }) };
    if (index >= clientCount) throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'Unexpected placeholder');
    return { kind: 'client', index, ...(ctx.capped.has(name) && { max: ctx.limits.maxRows + 1 }) };
  });
  for (let i = 1; i <= clientCount; i++) {
    if (!seen.has(`c${i}`)) throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'A placeholder could not be located; put it outside comments and quotes');
  }
  return slots;
}

export function createDialectValidator(spec: DialectSpec, config: SluiceConfig, connection: string, tier?: string): CachedValidator {
  const perms = compilePermissions(config, connection, tier);
  const functions = new Set([...spec.functions, ...config.sql.allowFunctions.map((f) => f.toLowerCase())]);
  const readClient = spec.reader(spec.convert, false);
  const readOutput = spec.reader(spec.convert, true);
  const scan: ScanSyntax = { postgres: false, hashComments: spec.placeholders.hashComments, bracketIdentifiers: spec.placeholders.bracketIdentifiers };

  /** Print `stmt`, proving first that our output, read back by the parser, is exactly the tree we checked. */
  function faithful(stmt: Statement): Emitted {
    const namedOut = emitStatement(stmt, spec, 'named');
    const again = readOutput(namedOut.sql);
    if (canonical(again) !== canonical(stmt)) {
      throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'The statement could not be rewritten faithfully');
    }
    const out = emitStatement(stmt, spec, 'positional');
    if (placeholderTextOrder(namedOut.sql).join() !== out.order.join()) {
      throw new SluiceError('CONSTRUCT_NOT_ALLOWED', 'The statement could not be rewritten faithfully (placeholder order)');
    }
    return out;
  }

  function compute(input: CheckInput): CheckedStatement {
    const role = perms.role(input.role);
    if (!role) throw new SluiceError('ROLE_NOT_ALLOWED', `The role "${input.role}" has no permissions on connection "${connection}"`);
    if (input.sql.length > config.limits.maxSqlLength) throw new SluiceError('SQL_TOO_LONG');
    if (input.typings && input.typings.some((t) => t !== 'none')) throw new SluiceError('INVALID_TYPING', 'Parameter typings are a Postgres feature');
    // Parsing is most of the cost here: bound the text before it.
    checkSqlText(input.sql, scan, config.limits);
    const named = namePlaceholders(input.sql, spec.placeholders);
    if (named.count > config.limits.maxParams) throw new SluiceError('TOO_MANY_PARAMS');
    const stmt = readClient(named.sql);
    checkParsedSize(stmt, (node) => node.setOp !== undefined, config.limits);
    const ctx: Ctx = {
      spec,
      perms: role,
      schema: perms.defaultSchema,
      limits: config.limits,
      functions,
      gateway: [],
      presetChecks: [],
      capped: new Set(),
      tables: new Set(),
      scope: null,
      ctes: [],
      aliases: [],
      relDepth: 0,
      boolDepth: 0,
      boolParent: undefined,
      exprDepth: 0,
      insertValues: undefined,
      locks: false,
      fences: [],
      growth: new WeakMap(),
      bounded: [],
      tableRefs: 0,
      bound(short) {
        ctx.bounded.push(short);
      },
    };
    const rewritten = rewrite(stmt, ctx);
    const out = faithful(stmt);
    let fallbackSql: string | undefined;
    if (ctx.fences.length > 0) {
      for (const fence of ctx.fences) fence();
      const fenced = faithful(stmt);
      // run-job binds the same params to both forms.
      if (fenced.order.join() !== out.order.join()) throw new Error('fenced form binds its params in another order');
      fallbackSql = fenced.sql;
    }
    return {
      sql: out.sql,
      ...(fallbackSql !== undefined && { fallbackSql }),
      kind: rewritten.kind,
      readOnly: rewritten.readOnly,
      clientParamCount: named.count,
      claimParams: ctx.gateway.map((g) => g.source),
      paramOrder: paramOrder(out.order, named.count, ctx),
      tables: [...ctx.tables],
      rowCapped: rewritten.rowCapped,
      ...(stmt.k === 'insert' && (stmt.onDuplicate !== undefined || stmt.onConflict?.some((c) => c.action === 'update') === true) && { upsert: stmt.source === undefined && stmt.rows.length === 1 ? 'one-row' : 'rows' }),
      ...boundedParams(ctx.bounded, config.limits),
      ...(ctx.presetChecks.length > 0 && { presetChecks: ctx.presetChecks }),
    };
  }

  return withStatementCache(config, connection, compute);
}
