/**
 * Row filters and presets are walked by hand rather than described with zod: the keys decide what
 * the value may be (`and`/`or` take lists, a column takes a value or an operator object), and every
 * refusal has to name the exact key path so a typo in a permission fails loudly.
 */
import { z } from 'zod';
import type { Filter, FilterValue } from './types.js';
import { CLAIM_REF, IDENTIFIER } from './identifiers.js';

type Report = (path: PropertyKey[], message: string) => void;

const OPERATORS = new Set(['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'in']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Text that was meant as a claim reference but is not one: the `$` missing (`claims.tenant_id`),
 * another sigil or a template (`:claims.x`, `{{claims.x}}`, `{tenant_id}` — the dbRole syntax), a
 * path through the request (`jwt.claims.x`, `request.jwt.claims.x`). Taken as a literal, a row filter
 * would compare every row with that text (no rows, or one shared "tenant") and a preset would write
 * it for every tenant, silently; refused instead, so the typo stops start-up.
 */
const MISTYPED_CLAIM_REF = /^[^A-Za-z0-9\s]{0,3}\s*(?:(?:request|jwt|token|auth)\.)*claims?\s*[.[:]|^\{[^{}\s,]+\}$/i;

const CLAIM_REF_HINT = 'write "$claims.<path>" (e.g. "$claims.tenant_id")';

/** A literal or a claim ref; a string that looks like a claim ref but is not a valid one is a typo. */
export function checkValue(value: unknown, path: PropertyKey[], report: Report): value is FilterValue {
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return true;
    report(path, 'must be a finite number');
    return false;
  }
  if (typeof value === 'string') {
    if (CLAIM_REF.test(value)) return true;
    if (value.trimStart().startsWith('$')) {
      report(path, `${JSON.stringify(value)} is not a claim reference; ${CLAIM_REF_HINT}`);
      return false;
    }
    if (MISTYPED_CLAIM_REF.test(value.trim())) {
      report(path, `${JSON.stringify(value)} looks like a claim reference but would be compared as literal text; ${CLAIM_REF_HINT}`);
      return false;
    }
    return true;
  }
  report(path, 'must be a string, number, boolean, null or "$claims.<path>"');
  return false;
}

function checkOperators(ops: Record<string, unknown>, path: PropertyKey[], report: Report): void {
  const keys = Object.keys(ops);
  if (keys.length === 0) report(path, 'an operator object needs at least one of eq, ne, lt, lte, gt, gte, in');
  for (const op of keys) {
    const value = ops[op];
    if (!OPERATORS.has(op)) {
      report([...path, op], `unknown operator "${op}" (allowed: eq, ne, lt, lte, gt, gte, in)`);
    } else if (op === 'in') {
      if (typeof value === 'string') {
        if (!CLAIM_REF.test(value)) report([...path, op], '"in" takes a list or one "$claims.<path>" that resolves to a list');
      } else if (Array.isArray(value)) {
        if (value.length === 0) report([...path, op], '"in" needs at least one value');
        value.forEach((v, i) => checkValue(v, [...path, op, i], report));
      } else {
        report([...path, op], '"in" takes a list or one "$claims.<path>" that resolves to a list');
      }
    } else {
      checkValue(value, [...path, op], report);
    }
  }
}

export function checkFilter(filter: unknown, path: PropertyKey[], report: Report, depth = 0): void {
  if (!isPlainObject(filter)) {
    report(path, 'a filter must be an object of column conditions (or and/or lists)');
    return;
  }
  if (depth > 32) {
    report(path, 'filter is nested too deeply');
    return;
  }
  const keys = Object.keys(filter);
  // An empty filter would read as "every row"; omitting `filter` says that explicitly.
  if (keys.length === 0) report(path, 'a filter needs at least one condition (omit "filter" to allow every row)');
  for (const key of keys) {
    const value = filter[key];
    const at = [...path, key];
    if (key === 'and' || key === 'or') {
      if (!Array.isArray(value) || value.length === 0) {
        report(at, `"${key}" takes a non-empty list of filters`);
        continue;
      }
      value.forEach((f, i) => checkFilter(f, [...at, i], report, depth + 1));
    } else if (!IDENTIFIER.test(key)) {
      report(at, `"${key}" is not a column name (letters, digits, _; or "and"/"or")`);
    } else if (isPlainObject(value)) {
      checkOperators(value, at, report);
    } else if (Array.isArray(value)) {
      report(at, 'a column condition is a value, a claim reference or an operator object; use {"in": [...]} for lists');
    } else {
      checkValue(value, at, report);
    }
  }
}

function zodReport(ctx: z.RefinementCtx): Report {
  return (path, message) => ctx.addIssue({ code: 'custom', message, path });
}

export const filterSchema = z.unknown().superRefine((v, ctx) => checkFilter(v, [], zodReport(ctx))).transform((v) => v as Filter);

export const presetsSchema = z
  .record(z.string().regex(IDENTIFIER, 'must be a column name (letters, digits, _)'), z.unknown())
  .superRefine((set, ctx) => {
    for (const [column, value] of Object.entries(set)) checkValue(value, [column], zodReport(ctx));
  })
  .transform((v) => v as Record<string, FilterValue>);
