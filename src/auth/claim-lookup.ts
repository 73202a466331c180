/**
 * The one way a claim is read from a token payload, wherever the config names one: `auth.claims`
 * (role, tenant, user), `"$claims.…"` in row filters and presets, `{…}` in dbRole templates, a
 * MySQL connection's `tenantClaim`.
 *
 * A reference is the claim's name as the token spells it, nested keys joined with dots: `tenant_id`,
 * `app.tenant` (payload.app.tenant), `https://app.example/tenant` (one namespaced key, dots and all),
 * `https://app.example/org.id` (payload["https://app.example/org"].id). A token in which one
 * reference can be read two ways — `{"app":{"tenant":1},"app.tenant":2}` — is refused as a whole
 * (CLAIM_AMBIGUOUS): preferring either reading would let two parts of sluice read different
 * values from one token (the route one tenant, the row filter another).
 */
import { MAX_CLAIM_PARTS } from '../config/identifiers.js';
import { SluiceError } from '../errors.js';

/**
 * Claims nested deeper are not indexed: a reference has at most MAX_CLAIM_PARTS parts (the config
 * refuses longer ones), so every reading of one lies within this depth and ambiguity is always seen.
 */
const MAX_DEPTH = MAX_CLAIM_PARTS;

interface ClaimIndex {
  /** Every reference the payload answers → its value (first reading; see `ambiguous`). */
  readonly values: ReadonlyMap<string, unknown>;
  /** References with more than one reading, in payload order. */
  readonly ambiguous: ReadonlySet<string>;
}

/** Per payload object: the host reads a cached verified payload many times, a thread its job's copy. */
const indexes = new WeakMap<object, ClaimIndex>();

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Arrays are values, never walked: a reference names object keys only. */
function buildIndex(payload: Record<string, unknown>): ClaimIndex {
  const values = new Map<string, unknown>();
  const ambiguous = new Set<string>();
  const stack: Array<{ prefix: string | undefined; node: Record<string, unknown>; depth: number }> = [{ prefix: undefined, node: payload, depth: 1 }];
  while (stack.length > 0) {
    const { prefix, node, depth } = stack.pop()!;
    for (const key of Object.keys(node)) {
      const ref = prefix === undefined ? key : `${prefix}.${key}`;
      const value = node[key];
      if (values.has(ref)) ambiguous.add(ref);
      else values.set(ref, value);
      if (isPlainObject(value) && depth < MAX_DEPTH) stack.push({ prefix: ref, node: value, depth: depth + 1 });
    }
  }
  return { values, ambiguous };
}

function indexOf(payload: Record<string, unknown>): ClaimIndex {
  let index = indexes.get(payload);
  if (!index) {
    index = buildIndex(payload);
    indexes.set(payload, index);
  }
  return index;
}

function ambiguityError(ref: string): SluiceError {
  return new SluiceError(
    'CLAIM_AMBIGUOUS',
    `The token's claim "${ref.slice(0, 200)}" can be read in more than one way (a key with dots and a nested path spell the same name); the token is refused`,
  );
}

/** The first reference this payload answers in more than one way, or undefined. */
export function ambiguousClaim(payload: Record<string, unknown>): string | undefined {
  return indexOf(payload).ambiguous.values().next().value;
}

/** Refuses (CLAIM_AMBIGUOUS) a payload in which any reference has two readings. */
export function assertUnambiguousClaims(payload: Record<string, unknown>): void {
  const ref = ambiguousClaim(payload);
  if (ref !== undefined) throw ambiguityError(ref);
}

/** The claim's value, or undefined when the token does not have it. Throws CLAIM_AMBIGUOUS. */
export function readClaim(payload: Record<string, unknown>, ref: string): unknown {
  const index = indexOf(payload);
  if (index.ambiguous.has(ref)) throw ambiguityError(ref);
  return index.values.get(ref);
}
