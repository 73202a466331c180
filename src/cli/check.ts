/**
 * `sluice check`: what would the gateway do with this SQL for these claims? It walks the request
 * path with the request path's own code — principal (toPrincipal), route (the tenant router, with
 * the tenant directory read as the gateway reads it), the job (buildJob: connection, tier, limits),
 * the validator of that connection and tier, the claim params and the dbRole template — so its
 * verdict is the gateway's. No database is needed unless a tenant directory is configured; when that
 * cannot be read and the tenant's route depends on it, the verdict is "undetermined", never a guess.
 */
import { toPrincipal, type Principal } from '../auth/principal.js';
import { loadConfigFile } from '../config/load.js';
import type { SluiceConfig } from '../config/types.js';
import { isSluiceError } from '../errors.js';
import { buildJob } from '../http/build-job.js';
import { resolveDbRole } from '../permissions/db-role.js';
import type { QueryJob } from '../pool/messages.js';
import { gatewayValue } from '../sql/bind-params.js';
import { createValidator, loadSqlParsers } from '../sql/create-validator.js';
import type { CheckedStatement, ParamSource } from '../sql/validator.js';
import { createTenantDirectory, type TenantDirectory } from '../tenants/directory.js';
import { createTenantRouter, type DirectoryLookup } from '../tenants/router.js';
import { printLiterals } from './check-literals.js';
import { EXIT } from './usage.js';

type Out = (line: string) => void;

/** The directory was configured but could not be read, and this tenant's route depends on it. */
class RouteUndetermined extends Error {}

function describeParam(source: ParamSource, claims: Record<string, unknown>): string {
  if (source.kind === 'literal') return `literal ${JSON.stringify(source.value)}`;
  return `$claims.${source.ref} = ${JSON.stringify(gatewayValue(source, claims))}`;
}

/** The directory's lookup, or one that says the route cannot be known when the directory did not load. */
async function directoryLookup(config: Readonly<SluiceConfig>, problems: string[]): Promise<{ directory?: TenantDirectory; lookup?: DirectoryLookup }> {
  const directory = createTenantDirectory(config, (msg, extra) => problems.push(extra.err === undefined ? msg : `${msg}: ${String(extra.err)}`));
  if (!directory) return {};
  if (await directory.refresh()) return { directory, lookup: directory.lookup };
  const dir = config.tenants!.directory!;
  return {
    directory,
    lookup: () => {
      throw new RouteUndetermined(`the tenant directory (${dir.table} on connection "${dir.connection}") could not be read: ${problems.at(-1) ?? 'no answer'}`);
    },
  };
}

/** What the gateway's driver resolves before leasing: a dbRole template it cannot fill is refused there. */
function dbRoleOf(config: Readonly<SluiceConfig>, job: QueryJob): string | undefined {
  const conn = config.connections[job.connection]!;
  return conn.dialect === 'postgres' && conn.dbRole !== undefined ? resolveDbRole(conn.dbRole, job.claims) : undefined;
}

function printRoute(out: Out, principal: Principal | undefined, job: QueryJob | undefined): void {
  if (principal?.tenant !== undefined) out(`tenant: ${JSON.stringify(principal.tenant)}`);
  if (job) {
    out(`connection: ${job.connection}`);
    out(`tier: ${job.tier ?? '(none)'}`);
  }
  if (principal) out(`role: ${principal.role}`);
}

function printAllowed(out: Out, checked: CheckedStatement, gatewayParams: string[], dbRole: string | undefined): void {
  if (dbRole !== undefined) out(`db role: ${dbRole}`);
  out(`kind: ${checked.kind}${checked.readOnly ? ' (read-only)' : ''}`);
  out(`tables: ${checked.tables.join(', ') || '(none)'}`);
  out(`client params: ${checked.clientParamCount}`);
  out('sql:');
  out(`  ${checked.sql}`);
  if (gatewayParams.length > 0) {
    out('gateway params:');
    gatewayParams.forEach((p, i) => out(`  $${checked.clientParamCount + i + 1}  ${p}`));
  }
}

export async function check(configPath: string, claims: Record<string, unknown>, sql: string, connectionName: string | undefined, out: Out = console.log): Promise<number> {
  const config = loadConfigFile(configPath);
  const problems: string[] = [];
  const { directory, lookup } = await directoryLookup(config, problems);
  let principal: Principal | undefined;
  let job: QueryJob | undefined;
  try {
    principal = toPrincipal(claims, config.auth.claims, config.auth.defaultRole);
    const routing = { config, router: createTenantRouter(config, lookup) };
    job = buildJob({ sql, method: 'all', ...(connectionName !== undefined && { connection: connectionName }) }, principal, routing, Date.now());
    await loadSqlParsers();
    const checked = createValidator(config, job.connection, job.tier).check({ sql: job.sql, role: job.role });
    // In the order a worker does it: claim params when binding, then the dbRole before the lease.
    const { claims: jobClaims } = job;
    const gatewayParams = checked.claimParams.map((p) => describeParam(p, jobClaims));
    const dbRole = dbRoleOf(config, job);
    out('verdict: allowed');
    printRoute(out, principal, job);
    printAllowed(out, checked, gatewayParams, dbRole);
    printLiterals(out, config, job.connection, job.role, job.sql);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof RouteUndetermined) {
      out('verdict: undetermined');
      printRoute(out, principal, undefined);
      out(`reason: the route of this tenant comes from ${e.message}`);
      return EXIT.undetermined;
    }
    if (!isSluiceError(e)) throw e;
    out('verdict: refused');
    out(`code: ${e.code} (${e.status})`);
    out(`message: ${e.message}`);
    printRoute(out, principal, job);
    if (job) printLiterals(out, config, job.connection, job.role, job.sql);
    return EXIT.failed;
  } finally {
    await directory?.close();
  }
}
