/** `sluice check`: what would the gateway do with this SQL for these claims? No database needed. */
import { toPrincipal } from '../auth/principal.js';
import { loadConfigFile } from '../config/load.js';
import { isSluiceError } from '../errors.js';
import { resolveClaim } from '../permissions/claims.js';
import { createValidator, loadSqlParsers } from '../sql/create-validator.js';
import type { ParamSource } from '../sql/validator.js';
import { EXIT, UsageError } from './usage.js';

/** A claim the request would need but the token lacks makes the verdict "refused" (CLAIM_MISSING). */
function describeParam(source: ParamSource, claims: Record<string, unknown>): string {
  if (source.kind === 'literal') return `literal ${JSON.stringify(source.value)}`;
  return `$claims.${source.ref} = ${JSON.stringify(resolveClaim(claims, source.ref))}`;
}

export async function check(
  configPath: string,
  claims: Record<string, unknown>,
  sql: string,
  connectionName: string | undefined,
  out: (line: string) => void = console.log,
): Promise<number> {
  const config = loadConfigFile(configPath);
  const connection = connectionName ?? Object.keys(config.connections)[0]!;
  if (!Object.hasOwn(config.connections, connection)) throw new UsageError(`no connection named "${connection}" in ${configPath}`);
  try {
    const { role } = toPrincipal(claims, config.auth.claims);
    await loadSqlParsers();
    const checked = createValidator(config, connection).check({ sql, role });
    const gatewayParams = checked.claimParams.map((p, i) => `  $${checked.clientParamCount + i + 1}  ${describeParam(p, claims)}`);
    out('verdict: allowed');
    out(`connection: ${connection}`);
    out(`role: ${role}`);
    out(`kind: ${checked.kind}${checked.readOnly ? ' (read-only)' : ''}`);
    out(`tables: ${checked.tables.join(', ') || '(none)'}`);
    out(`client params: ${checked.clientParamCount}`);
    out('sql:');
    out(`  ${checked.sql}`);
    if (gatewayParams.length > 0) {
      out('gateway params:');
      gatewayParams.forEach((line) => out(line));
    }
    return EXIT.ok;
  } catch (e) {
    if (!isSluiceError(e)) throw e;
    out('verdict: refused');
    out(`code: ${e.code} (${e.status})`);
    out(`message: ${e.message}`);
    return EXIT.failed;
  }
}
