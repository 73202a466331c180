import { SluiceError } from '../errors.js';
import { resolveClaim } from '../permissions/claims.js';
import type { Limits } from '../config/types.js';
import { applyPresetChecks } from './preset-check.js';
import type { ShortValue } from './common/function-costs.js';
import type { BoundedParams, CheckedStatement, ParamSlot, ParamSource } from './validator.js';

/**
 * The final parameter list: the client's params, then the gateway's (claims/literals).
 * Throws PARAM_COUNT_MISMATCH (400), CLAIM_MISSING (403) or PRESET_COLUMN (403, a preset value
 * the client sent that is not the preset's).
 */
export function bindParams(checked: CheckedStatement, clientParams: unknown[], claims: Record<string, unknown>): unknown[] {
  if (clientParams.length !== checked.clientParamCount) {
    throw new SluiceError(
      'PARAM_COUNT_MISMATCH',
      `The SQL has ${checked.clientParamCount} placeholder(s) but ${clientParams.length} param(s) were sent`,
    );
  }
  for (const group of checked.boundedParams ?? []) checkBounded(group, clientParams);
  const client = checked.presetChecks ? applyPresetChecks(checked.presetChecks, clientParams, (s) => gatewayValue(s, claims)) : clientParams;
  if (checked.paramOrder) return checked.paramOrder.map((slot) => slotValue(slot, checked, client, claims));
  if (checked.claimParams.length === 0) return client;
  const out = client.slice();
  for (const source of checked.claimParams) out.push(gatewayValue(source, claims));
  return out;
}

/** The value of one gateway param: its claim (CLAIM_MISSING / CLAIM_AMBIGUOUS) or its literal. */
export function gatewayValue(source: ParamSource, claims: Record<string, unknown>): unknown {
  return source.kind === 'claim' ? resolveClaim(claims, source.ref) : source.value;
}

/** A client LIMIT value, clamped to `max` (SQLite reads a negative LIMIT as "no limit"). */
function clamp(value: unknown, max: number): unknown {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return Math.min(value, max);
  if (typeof value === 'bigint' && value >= 0n) return value > BigInt(max) ? BigInt(max) : value;
  if (typeof value === 'string' && /^\d{1,15}$/.test(value)) return String(Math.min(Number(value), max));
  throw new SluiceError('INVALID_INPUT', 'A LIMIT parameter must be a non-negative integer');
}

/** Positional dialects: the value of one `?` (see CheckedStatement.paramOrder). */
function slotValue(slot: ParamSlot, checked: CheckedStatement, clientParams: unknown[], claims: Record<string, unknown>): unknown {
  if (slot.kind === 'client') {
    const value = clientParams[slot.index];
    return slot.max === undefined ? value : clamp(value, slot.max);
  }
  const value = gatewayValue(checked.claimParams[slot.index]!, claims);
  if (!slot.json) return value;
  return JSON.stringify(Array.isArray(value) ? value : [value]);
}

/** The bind-time checks of the short arguments a walk found (deduplicated). */
export function boundedParams(shorts: readonly ShortValue[], limits: Pick<Limits, 'maxPatternLength'>): { boundedParams?: BoundedParams[] } {
  const groups = new Map<string, BoundedParams>();
  for (const s of shorts) {
    const group = { params: [...s.params], fixed: s.fixed, max: limits.maxPatternLength };
    groups.set(JSON.stringify(group), group);
  }
  return groups.size === 0 ? {} : { boundedParams: [...groups.values()] };
}

/** The length a param has as SQL text (what a pattern or search string is made of). */
function textLength(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'string') return value.length;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value).length;
  if (value instanceof Uint8Array) return value.byteLength;
  return JSON.stringify(value)?.length ?? 0;
}

function checkBounded(group: BoundedParams, clientParams: unknown[]): void {
  const length = group.params.reduce((n, i) => n + textLength(clientParams[i]), group.fixed);
  if (length > group.max) {
    const which = group.params.map((i) => i + 1).join(', ');
    throw new SluiceError(
      'ARGUMENT_TOO_LONG',
      `Param(s) ${which} make a pattern, search string or replacement of ${length} characters; the limit is limits.maxPatternLength (${group.max})`,
    );
  }
}
