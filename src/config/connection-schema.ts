/**
 * Connections. The dialect is derived from the URL scheme (or a file path) through one table, and
 * each dialect has one strict object schema; nothing downstream branches on strings.
 *
 * Accepted spellings:
 * - `postgres://…` / `postgresql://…`, or `{ url, … }` with such a URL            → postgres
 * - `mysql://…` / `mariadb://…`, or `{ dialect: "mysql", url, … }`               → mysql
 * - `./data/app.db` (any string that is not a URL), `sqlite:./data/app.db`,
 *   `{ url: "sqlite:…" }` or `{ dialect: "sqlite", file, … }`                      → sqlite
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { int } from './coerce.js';
import { checkDbTls, TLS_PARAMS } from './db-tls.js';
import { CLAIM_REFERENCE, DB_ROLE, IDENTIFIER } from './identifiers.js';
import type { ConnectionConfig } from './types.js';

export type Dialect = ConnectionConfig['dialect'];

export const DIALECT_BY_PROTOCOL: Readonly<Record<string, Dialect>> = {
  'postgres:': 'postgres',
  'postgresql:': 'postgres',
  'mysql:': 'mysql',
  'mariadb:': 'mysql',
  'sqlite:': 'sqlite',
};

const NETWORK_SCHEMES = Object.keys(DIALECT_BY_PROTOCOL)
  .filter((p) => DIALECT_BY_PROTOCOL[p] !== 'sqlite')
  .map((p) => `${p}//`);

/** `scheme://` — anything else is a file path (a Windows drive letter is not a scheme). */
const LOOKS_LIKE_URL = /^[A-Za-z][A-Za-z0-9+.-]+:\/\//;
const SQLITE_PREFIX = 'sqlite:';

function protocolOf(url: string): string | undefined {
  if (url.startsWith(SQLITE_PREFIX)) return SQLITE_PREFIX;
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}

/** `sqlite:./a.db` → `./a.db`; `sqlite:///abs/a.db` → `/abs/a.db`. */
function sqliteFile(url: string): string {
  const rest = url.slice(SQLITE_PREFIX.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

/** What the user wrote, with the dialect made explicit (still unvalidated). */
function withDialect(v: unknown): unknown {
  if (typeof v === 'string') {
    if (v === '' || v.startsWith(SQLITE_PREFIX) || LOOKS_LIKE_URL.test(v)) return withDialect({ url: v });
    return { dialect: 'sqlite', file: v };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
  const o = v as Record<string, unknown>;
  if (o.dialect !== undefined || typeof o.url !== 'string') return o;
  if (o.url.startsWith(SQLITE_PREFIX)) {
    const { url, ...rest } = o;
    return { ...rest, dialect: 'sqlite', file: sqliteFile(url as string) };
  }
  const dialect = DIALECT_BY_PROTOCOL[protocolOf(o.url) ?? ''];
  return dialect === undefined ? o : { ...o, dialect };
}

/** The URL is never echoed in messages: it usually carries a password. */
function urlOf(dialect: Dialect) {
  const schemes = Object.keys(DIALECT_BY_PROTOCOL)
    .filter((p) => DIALECT_BY_PROTOCOL[p] === dialect)
    .map((p) => `${p}//`);
  return z.string().refine((url) => DIALECT_BY_PROTOCOL[protocolOf(url) ?? ''] === dialect && LOOKS_LIKE_URL.test(url), {
    message: `must be a ${schemes.join(' or ')} URL`,
  });
}

/** A decimal between 0 and 1; a string (from `${VAR}`) only in plain decimal spelling. */
const fraction = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v.trim()) : v),
  z.number().min(0).max(1),
);

/**
 * Read replicas and connection lifecycle (Postgres and MySQL). Unset keys stay unset in the
 * normalized config; the drivers apply the defaults (see docs/configuration.md).
 */
function poolKeys(dialect: 'postgres' | 'mysql') {
  return {
    replicas: z.array(urlOf(dialect)).max(16).optional(),
    replicaReads: z.enum(['always', 'overflow']).optional(),
    replicaUtilization: fraction.optional(),
    maxUses: int(0).optional(),
    maxLifetimeMs: int(0).optional(),
    validateAfterIdleMs: int(0).optional(),
  };
}

interface PoolKeys {
  replicas?: string[] | undefined;
  replicaReads?: 'always' | 'overflow' | undefined;
  replicaUtilization?: number | undefined;
  maxUses?: number | undefined;
  maxLifetimeMs?: number | undefined;
  validateAfterIdleMs?: number | undefined;
}

/** The URL's TLS parameters (config/db-tls.ts) are valid and name readable files. */
function checkTls(url: string, dialect: 'postgres' | 'mysql', path: (string | number)[], ctx: z.RefinementCtx): void {
  const problem = checkDbTls(url, dialect);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', path, message: problem });
}

/** Routing keys without replicas are a mistake, not a no-op. A MySQL replica must serve the primary's database. */
function checkPoolKeys(c: PoolKeys, ctx: z.RefinementCtx, mysqlDb?: string): void {
  const hasReplicas = (c.replicas?.length ?? 0) > 0;
  c.replicas?.forEach((url, i) => checkTls(url, mysqlDb === undefined ? 'postgres' : 'mysql', ['replicas', i], ctx));
  for (const key of ['replicaReads', 'replicaUtilization'] as const) {
    if (c[key] !== undefined && !hasReplicas) ctx.addIssue({ code: 'custom', path: [key], message: 'needs a non-empty replicas list' });
  }
  if (mysqlDb === undefined) return;
  c.replicas?.forEach((url, i) => {
    if (mysqlDatabase(url) !== mysqlDb) {
      ctx.addIssue({ code: 'custom', path: ['replicas', i], message: `must name the same database as url ("${mysqlDb}")` });
    } else if (mysqlUrlOptions(url).some((k) => !MYSQL_URL_OPTIONS.has(k))) {
      ctx.addIssue({ code: 'custom', path: ['replicas', i], message: `may only carry ${[...MYSQL_URL_OPTIONS].join(', ')} as query parameters` });
    }
  });
}

/** The keys the user set, for the normalized config (which must parse to itself again). */
function poolKeysOf(c: PoolKeys): PoolKeys {
  const out: PoolKeys = {};
  if (c.replicas !== undefined && c.replicas.length > 0) out.replicas = c.replicas;
  for (const key of ['replicaReads', 'replicaUtilization', 'maxUses', 'maxLifetimeMs', 'validateAfterIdleMs'] as const) {
    if (c[key] !== undefined) (out as Record<string, unknown>)[key] = c[key];
  }
  return out;
}

const postgresSchema = z.strictObject({
  dialect: z.literal('postgres'),
  url: urlOf('postgres'),
  max: int(1, 1000).default(10),
  dbRole: z.string().regex(DB_ROLE, 'must be a database role name (letters, digits, _), or a template such as tenant_{tenant_id}').optional(),
  schema: z.string().regex(IDENTIFIER, 'must be a schema name (letters, digits, _)').default('public'),
  idleTimeoutMs: int(0).default(0),
  connectionTimeoutMs: int(1).default(5000),
  /** Named prepared statements kept per connection (an LRU); 0: none. Absent: the driver's default. */
  preparedStatements: int(0, 10_000).optional(),
  ...poolKeys('postgres'),
}).superRefine((c, ctx) => {
  checkTls(c.url, 'postgres', ['url'], ctx);
  checkPoolKeys(c, ctx);
});

/** The database named by a mysql URL's path, or undefined. */
function mysqlDatabase(url: string): string | undefined {
  try {
    const db = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    return db === '' ? undefined : db;
  } catch {
    return undefined;
  }
}

const MYSQL_URL_OPTIONS: ReadonlySet<string> = new Set(TLS_PARAMS);

function mysqlUrlOptions(url: string): string[] {
  try {
    return [...new URL(url).searchParams.keys()];
  } catch {
    return [];
  }
}

const mysqlSchema = z
  .strictObject({
    dialect: z.literal('mysql'),
    url: urlOf('mysql'),
    max: int(1, 1000).default(10),
    // Accepted so a normalized config parses again; it must be the URL's database.
    schema: z.string().optional(),
    idleTimeoutMs: int(0).default(0),
    connectionTimeoutMs: int(1).default(5000),
    /** Claim bound as @sluice_tenant_id for each lease (a claim reference, as in "$claims.…"). */
    tenantClaim: z.string().regex(CLAIM_REFERENCE, 'must be a claim reference such as tenant_id, org.id or https://app.example/tenant').default('tenant_id'),
    /** false: no @sluice_* session variables (views or functions reading them see NULL). */
    contextVariables: z.boolean().optional(),
    ...poolKeys('mysql'),
  })
  .superRefine((c, ctx) => {
    const db = mysqlDatabase(c.url);
    if (db === undefined || !IDENTIFIER.test(db)) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'must name the database (mysql://user@host:3306/dbname; letters, digits, _)' });
    } else if (mysqlUrlOptions(c.url).some((k) => !MYSQL_URL_OPTIONS.has(k))) {
      // mysql2 turns every query parameter into a connection option, and one given in the URL
      // beats sluice's own (e.g. ?multipleStatements=true): only sluice's TLS settings are accepted.
      ctx.addIssue({ code: 'custom', path: ['url'], message: `may only carry ${[...MYSQL_URL_OPTIONS].join(', ')} as query parameters` });
    } else if (c.schema !== undefined && c.schema !== db) {
      ctx.addIssue({ code: 'custom', path: ['schema'], message: `must be the URL's database ("${db}")` });
    }
    checkTls(c.url, 'mysql', ['url'], ctx);
    if (db !== undefined) checkPoolKeys(c, ctx, db);
  });

const sqliteSchema = z.strictObject({
  dialect: z.literal('sqlite'),
  file: z
    .string()
    .min(1, 'must be a database file path')
    .refine((f) => f !== ':memory:' && !f.startsWith('file:'), 'must be a database file path (in-memory databases cannot be shared by worker threads)'),
  schema: z.literal('main').default('main'),
  // One connection (and one SQLite process) per worker thread.
  max: z.literal(1).default(1),
  busyTimeoutMs: int(0, 600_000).default(5000),
});

const DIALECTS = ['postgres', 'mysql', 'sqlite'] as const satisfies readonly Dialect[];
const byDialect = z.discriminatedUnion('dialect', [postgresSchema, mysqlSchema, sqliteSchema], {
  error: (iss) => (iss.code === 'invalid_union' ? `must be one of ${DIALECTS.join(', ')}` : undefined),
});

/** Before the per-dialect schemas: say what is wrong when no dialect could be derived. */
const dialectKnown = z.unknown().superRefine((v, ctx) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: 'must be a connection URL, a SQLite file path or an object' });
    return;
  }
  const o = v as Record<string, unknown>;
  if (o.dialect !== undefined) return;
  const message =
    typeof o.url === 'string'
      ? `must be a ${NETWORK_SCHEMES.join(', ')} or sqlite: URL, or a SQLite file path`
      : 'is required (or "dialect": "sqlite" with "file")';
  ctx.addIssue({ code: 'custom', path: ['url'], message });
});

function normalize(c: z.output<typeof byDialect>): ConnectionConfig {
  switch (c.dialect) {
    case 'postgres': {
      const out: ConnectionConfig = {
        dialect: 'postgres',
        url: c.url,
        max: c.max,
        schema: c.schema,
        idleTimeoutMs: c.idleTimeoutMs,
        connectionTimeoutMs: c.connectionTimeoutMs,
      };
      if (c.dbRole !== undefined) out.dbRole = c.dbRole;
      if (c.preparedStatements !== undefined) out.preparedStatements = c.preparedStatements;
      return Object.assign(out, poolKeysOf(c));
    }
    case 'mysql':
      return {
        dialect: 'mysql',
        url: c.url,
        max: c.max,
        schema: mysqlDatabase(c.url)!,
        idleTimeoutMs: c.idleTimeoutMs,
        connectionTimeoutMs: c.connectionTimeoutMs,
        tenantClaim: c.tenantClaim,
        ...(c.contextVariables !== undefined && { contextVariables: c.contextVariables }),
        ...poolKeysOf(c),
      };
    case 'sqlite':
      // Absolute once, at start-up: worker threads and SQLite processes never depend on the cwd.
      return { dialect: 'sqlite', file: resolve(c.file), schema: 'main', max: 1, busyTimeoutMs: c.busyTimeoutMs };
  }
}

/** A bare string is shorthand: a URL, or a SQLite file path. */
export const connectionSchema = z.preprocess(withDialect, dialectKnown.pipe(byDialect)).transform(normalize);
