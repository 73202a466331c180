/**
 * `sql.literals`: which mode applies to a (connection, role) — the role's setting wins over the
 * connection's, which wins over the default — and the refusal itself. The scan runs on the SQL the
 * client sent, before any rewrite: the gateway's own values (row filters, presets) are bound as
 * parameters and are never in that text.
 */
import type { SluiceConfig } from '../../config/types.js';
import { SluiceError } from '../../errors.js';
import { firstRefused, type Literal, type LiteralMode } from './literal.js';
import { mayHoldQuotedConstant, scanPostgresLiterals } from './postgres-scanner.js';
import { scanTextLiterals } from './text-scanner.js';

export type { Literal, LiteralKind, LiteralMode } from './literal.js';
export { LITERAL_MODES, refusedUnder } from './literal.js';

type Dialect = SluiceConfig['connections'][string]['dialect'];

/** Every literal of the client's SQL, in order of position. */
export function scanLiterals(sql: string, dialect: Dialect): Literal[] {
  switch (dialect) {
    case 'postgres':
      return scanPostgresLiterals(sql);
    case 'mysql':
      return scanTextLiterals(sql, { mysql: true, bracketIdentifiers: false });
    case 'sqlite':
      return scanTextLiterals(sql, { mysql: false, bracketIdentifiers: true });
  }
}

export function literalMode(config: Readonly<SluiceConfig>, connection: string, role: string): LiteralMode {
  const l = config.sql.literals;
  if (l === undefined) return 'allow';
  if (Object.hasOwn(l.roles, role)) return l.roles[role]!;
  if (Object.hasOwn(l.connections, connection)) return l.connections[connection]!;
  return l.default;
}

/** The refusal: the literal's kind and position, never its value. */
export function literalError(literal: Literal, mode: LiteralMode): SluiceError {
  return new SluiceError(
    'LITERAL_NOT_ALLOWED',
    `The SQL carries ${/^[aeiou]/.test(literal.kind) ? 'an' : 'a'} ${literal.kind} literal at character ${literal.position}, which sql.literals "${mode}" refuses: pass the value as a parameter`,
  );
}

/**
 * The check every validator runs before its own (cached-validator.ts): throws LITERAL_NOT_ALLOWED
 * for the first literal the (connection, role)'s mode refuses. `allow` costs nothing.
 */
export function literalPolicy(config: Readonly<SluiceConfig>, connection: string): (sql: string, role: string) => void {
  const dialect = config.connections[connection]!.dialect;
  return (sql, role) => {
    const mode = literalMode(config, connection, role);
    // Too long: the validator refuses it (SQL_TOO_LONG) without reading it, so the scan does not either.
    if (mode === 'allow' || sql.length > config.limits.maxSqlLength) return;
    if (mode === 'refuse-strings' && dialect === 'postgres' && !mayHoldQuotedConstant(sql)) return;
    const refused = firstRefused(mode, scanLiterals(sql, dialect));
    if (refused) throw literalError(refused, mode);
  };
}
