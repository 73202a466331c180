/**
 * The statement cache every dialect's validator sits behind. A check depends only on (role,
 * typings, SQL text) — claim values are parameters — so its result is reusable; refusals are
 * cached too, so a client retrying a refused statement costs a lookup.
 */
import { LRUCache } from 'lru-cache';
import type { SluiceConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import { literalPolicy } from './literals/policy.js';
import type { CachedValidator, CheckedStatement, CheckInput } from './validator.js';

/** BEGIN, COMMIT, SAVEPOINT…: whatever the dialect's parser makes of them, the answer is the same. */
const TRANSACTION_CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|abort|savepoint|release)\b/i;

function refuseTransactionControl(sql: string): void {
  if (TRANSACTION_CONTROL.test(sql)) {
    throw new SluiceError(
      'STATEMENT_NOT_ALLOWED',
      'Transactions cannot span requests through a pooled gateway (db.transaction() is not supported): send the statements together as a "batch", which runs them in one transaction, all or nothing',
    );
  }
}

/**
 * `compute` may throw a RangeError (stack overflow on absurd nesting): that is the client's nesting.
 * Before it, the dialect-neutral refusals: transaction control, and literals (`sql.literals`).
 */
export function withStatementCache(config: Readonly<SluiceConfig>, connection: string, compute: (input: CheckInput) => CheckedStatement): CachedValidator {
  const refuseLiterals = literalPolicy(config, connection);
  const cache = new LRUCache<string, CheckedStatement | SluiceError>({ max: Math.max(1, config.sql.cacheSize) });
  let hit = false;
  return {
    check(input) {
      const key = `${input.role}\u0000${(input.typings ?? []).join(',')}\u0000${input.sql}`;
      const cached = cache.get(key);
      hit = cached !== undefined;
      if (cached instanceof SluiceError) throw cached;
      if (cached) return cached;
      try {
        refuseTransactionControl(input.sql);
        refuseLiterals(input.sql, input.role);
        const checked = compute(input);
        cache.set(key, checked);
        return checked;
      } catch (e) {
        const err = e instanceof RangeError ? new SluiceError('FILTER_NESTING_EXCEEDED', 'The statement is nested too deeply') : e;
        if (err instanceof SluiceError) cache.set(key, err);
        throw err;
      }
    },
    lastWasCacheHit: () => hit,
  };
}
