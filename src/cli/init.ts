/**
 * `sluice init --from-database URL [--tenant-column tenant_id] [--tenant-claim REF] [--schema S …]
 * [--out FILE]`: reads the database's tables and writes a starting config (YAML) in which every
 * table with the tenant column is scoped to the token's tenant, and every other table is left out
 * with a comment. The file is checked by the config schema before it is written, so `sluice serve`
 * takes it as it is once DATABASE_URL and JWT_SECRET are set.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';
import { connectionSchema } from '../config/connection-schema.js';
import { CLAIM_REFERENCE, IDENTIFIER } from '../config/identifiers.js';
import { interpolateEnv } from '../config/interpolate.js';
import { parseConfig } from '../config/schema.js';
import type { ConnectionConfig } from '../config/types.js';
import { readCatalog } from '../init/catalog.js';
import { CATALOG_QUERIES } from '../init/catalog-queries.js';
import { planStarter, type StarterOptions } from '../init/starter-plan.js';
import { DATABASE_URL_ENV, JWT_SECRET_ENV, starterYaml, type StarterSource } from '../init/starter-yaml.js';
import { parse as parseYaml } from 'yaml';
import { EXIT, UsageError } from './usage.js';

export interface InitOptions {
  /** The database to read: a postgres://, mysql:// or mariadb:// URL, or a SQLite file. */
  fromDatabase: string;
  tenantColumn?: string | undefined;
  /** Defaults to the tenant column's name. */
  tenantClaim?: string | undefined;
  /** Postgres/MySQL schemas to read; the first is the default schema. Absent: the connection's own. */
  schemas?: readonly string[] | undefined;
  /** Absent: the YAML goes to `out`. */
  file?: string | undefined;
}

type Out = (text: string) => void;

/** The URL's dialect and settings, through the config's own connection schema; never echoes the URL. */
function connectionOf(from: string): ConnectionConfig {
  const parsed = connectionSchema.safeParse(from);
  if (!parsed.success) {
    throw new UsageError(`--from-database must be a postgres://, mysql:// or mariadb:// URL (naming the database), or a SQLite file: ${parsed.error.issues[0]?.message ?? 'not understood'}`);
  }
  return parsed.data;
}

/** user@host:port/db, for the header: no password, no query parameters. */
function describeSource(conn: ConnectionConfig, from: string): string {
  if (conn.dialect === 'sqlite') return `the SQLite database ${from}`;
  const url = new URL(conn.url);
  url.password = '';
  url.search = '';
  return `the ${conn.dialect === 'postgres' ? 'Postgres' : 'MySQL/MariaDB'} database ${url.toString()}`;
}

/** What `connections.main` says: the URL stays in the environment; SQLite's file is no secret. */
function connectionEntry(conn: ConnectionConfig, from: string, defaultSchema: string, o: StarterOptions): StarterSource['connection'] {
  const url = `\${${DATABASE_URL_ENV}}`;
  switch (conn.dialect) {
    case 'postgres':
      return { dialect: 'postgres', url, schema: defaultSchema };
    case 'mysql':
      return { dialect: 'mysql', url, ...(o.tenantClaim !== 'tenant_id' && { tenantClaim: o.tenantClaim }) };
    case 'sqlite':
      return from;
  }
}

function checkOptions(conn: ConnectionConfig, o: InitOptions): { starter: StarterOptions; schemas: readonly string[] } {
  const tenantColumn = o.tenantColumn ?? 'tenant_id';
  if (!IDENTIFIER.test(tenantColumn)) throw new UsageError(`--tenant-column must be a column name (letters, digits, _), got ${JSON.stringify(tenantColumn)}`);
  const tenantClaim = o.tenantClaim ?? tenantColumn;
  if (!CLAIM_REFERENCE.test(tenantClaim) || tenantClaim.startsWith('$')) {
    throw new UsageError(`--tenant-claim must be the claim's name as the token spells it (e.g. tenant_id, org.id, https://app.example/tenant), got ${JSON.stringify(tenantClaim)}`);
  }
  const schemas = o.schemas ?? [];
  for (const s of schemas) if (!IDENTIFIER.test(s)) throw new UsageError(`--schema must be a schema name (letters, digits, _), got ${JSON.stringify(s)}`);
  if (conn.dialect === 'sqlite' && schemas.some((s) => s !== 'main')) throw new UsageError('--schema: a SQLite connection has only "main"');
  if (conn.dialect === 'mysql' && schemas.length > 0 && schemas[0] !== conn.schema) {
    throw new UsageError(`--schema: the first schema of a MySQL connection is the URL's database ("${conn.schema}"); other databases may follow`);
  }
  if (new Set(schemas).size !== schemas.length) throw new UsageError('--schema: a schema is named twice');
  return { starter: { tenantColumn, tenantClaim }, schemas };
}

/**
 * The written text must be a config sluice starts with: parsed here with stand-ins for the
 * environment (a bug in the writer must never reach a user as a file that does not load).
 */
function assertLoads(yaml: string, conn: ConnectionConfig): void {
  const env = { [DATABASE_URL_ENV]: conn.dialect === 'sqlite' ? '' : conn.url, [JWT_SECRET_ENV]: 'x'.repeat(32) };
  try {
    parseConfig(interpolateEnv(parseYaml(yaml), env));
  } catch (e) {
    const detail = e instanceof ConfigError ? e.message : String(e);
    throw new Error(`sluice init wrote a config that does not load (a bug; please report it):\n${detail}`);
  }
}

const exists = (file: string): UsageError => new UsageError(`${file} exists; sluice init never overwrites a file`);

export async function init(o: InitOptions, out: Out = (t) => process.stdout.write(t), note: Out = (t) => process.stderr.write(t)): Promise<number> {
  const conn = connectionOf(o.fromDatabase);
  const { starter, schemas } = checkOptions(conn, o);
  // Before the database is read; the exclusive write below still guards against a race.
  if (o.file !== undefined && existsSync(o.file)) throw exists(o.file);
  const catalog = await readCatalog(conn, CATALOG_QUERIES, schemas);
  const plan = planStarter(catalog, starter);
  const source: StarterSource = { connection: connectionEntry(conn, o.fromDatabase, catalog.defaultSchema, starter), description: describeSource(conn, o.fromDatabase) };
  const yaml = starterYaml(plan, starter, source);
  assertLoads(yaml, conn);
  for (const schema of schemas) {
    if (!catalog.tables.some((t) => t.schema === schema)) note(`sluice init: schema ${schema} has no tables (or does not exist)\n`);
  }
  const summary = `${plan.tables.length} table(s) scoped by ${starter.tenantColumn}, ${plan.leftOut.length} left out`;
  if (o.file === undefined) {
    out(yaml);
    note(`sluice init: ${summary}\n`);
    return EXIT.ok;
  }
  try {
    // 'wx': an existing config is never overwritten.
    writeFileSync(o.file, yaml, { flag: 'wx' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw code === 'EEXIST' ? exists(o.file) : new UsageError(`cannot write ${o.file}: ${code ?? (e as Error).message}`);
  }
  note(`sluice init: wrote ${o.file}: ${summary}\n`);
  return EXIT.ok;
}
