/**
 * The literals part of `sluice check`: which literals the statement carries (kind and position,
 * never the value, as a refusal says it) and what each `sql.literals` mode would decide, with the
 * mode that applies to this connection and role marked.
 */
import type { SluiceConfig } from '../config/types.js';
import { isSluiceError } from '../errors.js';
import { LITERAL_MODES, literalMode, refusedUnder, scanLiterals, type Literal } from '../sql/literals/policy.js';

type Out = (line: string) => void;

const describe = (l: Literal): string => `${l.kind} at character ${l.position}`;

export function printLiterals(out: Out, config: Readonly<SluiceConfig>, connection: string, role: string, sql: string): void {
  let literals: Literal[];
  try {
    literals = scanLiterals(sql, config.connections[connection]!.dialect);
  } catch (e) {
    if (!isSluiceError(e)) throw e;
    out(`literals: cannot be read (${e.message}); every mode but allow refuses the statement`);
    return;
  }
  out(`literals: ${literals.length === 0 ? '(none)' : literals.map(describe).join(', ')}`);
  const applies = literalMode(config, connection, role);
  for (const mode of LITERAL_MODES) {
    const refused = literals.find((l) => refusedUnder(mode, l));
    const verdict = refused === undefined ? 'allowed' : `refused (${describe(refused)})`;
    out(`  under ${mode}: ${verdict}${mode === applies ? '  ← sql.literals for this connection and role' : ''}`);
  }
}
