/**
 * The one config schema: what users write → the normalized, frozen SluiceConfig. Validated once at
 * start-up; unknown keys are refused everywhere so a typo fails loudly instead of silently
 * loosening a limit or a permission.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { JSON_DEPTH_CAP } from '../json-depth.js';
import { int } from './coerce.js';
import { ConfigError, formatPath, type ConfigIssue } from './config-error.js';
import { connectionSchema } from './connection-schema.js';
import { corsSchema } from './cors-schema.js';
import { deepFreeze } from './deep-freeze.js';
import { CONNECTION_NAME, MAX_CLAIM_PARTS, TIER_PREFIX } from './identifiers.js';
import { healthSchema } from './health-schema.js';
import { jwtSchema } from './jwt-schema.js';
import { literalsSchema } from './literals-schema.js';
import { observabilitySchema } from './observability-schema.js';
import { permissionsSchema } from './permissions-schema.js';
import { checkReferences } from './references-check.js';
import { requireCstInstalled } from '../sql/cst/load.js';
import { tenantsSchema, type TenantsInput } from './tenants-schema.js';
import { trustProxySchema } from './trust-proxy-schema.js';
import type { SluiceConfig } from './types.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const MiB = 1024 * 1024;
/** The Postgres wire protocol carries at most 65535 bind parameters, gateway params included. */
const MAX_BIND_PARAMS = 65535;
/** Twice below V8's largest string, so a response within the cap can always be serialized. */
const MAX_RESPONSE_BYTES = 256 * MiB;

const claimPath = z
  .string()
  .min(1)
  .refine((ref) => ref.split('.').length <= MAX_CLAIM_PARTS, `a claim reference has at most ${MAX_CLAIM_PARTS} dot-separated parts`)
  // "$claims.role" here would name a claim called "$claims": every token would lack it (and, with
  // auth.defaultRole, every token would quietly get the default role).
  .refine((ref) => !ref.startsWith('$'), 'is the claim\'s name as the token spells it (e.g. tenant_id), without "$claims." (that form is for filters and presets)');

const configSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: int(0, 65535).default(8080),
        bodyLimit: int(1024).default(MiB),
        /** Bearer token of POST /admin/reload; absent: the admin endpoint does not exist. */
        adminToken: z.string().min(32, 'must be at least 32 characters').optional(),
        trustProxy: trustProxySchema.default(false),
        /** ms between SIGTERM and the start of the drain, /readyz answering 503 meanwhile (load balancers take a few probes to notice). */
        drainDelayMs: int(0, 3_600_000).default(0),
        /**
         * ms a client has to send a whole request (headers and body); 408 REQUEST_TIMEOUT after.
         * Fastify's default is no limit, so a client trickling a body would hold its socket forever.
         */
        requestTimeoutMs: int(1000, 3_600_000).default(30_000),
        /** Absent: no CORS headers (browsers refuse cross-origin calls). */
        cors: corsSchema.optional(),
      })
      .prefault({}),
    auth: z.strictObject({
      jwt: jwtSchema,
      claims: z
        .strictObject({
          role: claimPath.default('role'),
          tenant: claimPath.default('tenant_id'),
          user: claimPath.default('sub'),
        })
        .prefault({}),
      defaultRole: z.string().min(1).optional(),
    }),
    connections: z.record(z.string().regex(CONNECTION_NAME, 'must be a connection name (letters, digits, _, -)'), connectionSchema),
    limits: z
      .strictObject({
        queryTimeout: int(1).default(30000),
        rateLimitPerUser: int(0).default(200),
        rateLimitPerIP: int(0).default(500),
        maxRows: int(1).default(10000),
        // Bytes of row JSON per response; bounded so the HTTP thread can always build the answer (V8 strings stop at ~512 MiB).
        maxResponseBytes: int(1024, MAX_RESPONSE_BYTES).default(32 * MiB),
        maxRelationDepth: int(1, 64).default(4),
        maxFilterNesting: int(1, 256).default(8),
        maxSqlLength: int(1).default(100000),
        maxParams: int(0, MAX_BIND_PARAMS).default(10000),
        maxJsonDepth: int(4, JSON_DEPTH_CAP).default(64),
        // Validation cost (docs/security.md, "What validation may cost").
        maxSqlTokens: int(1).default(50000),
        maxSqlNodes: int(1).default(60000),
        maxSetOperations: int(0).default(50),
        maxTableReferences: int(1).default(128),
        // What the database cannot bound (docs/security.md, "Statements the database cannot stop").
        maxValueGrowth: int(1).default(1024),
        maxPatternLength: int(1).default(100),
        maxPadLength: int(1).default(4096),
      })
      .prefault({}),
    workers: z
      .strictObject({
        threads: int(1, 256).default(() => Math.min(4, availableParallelism())),
        /** Database connections this process may hold across every connection's pools (absent: no cap). */
        maxConnections: int(1).optional(),
        /** ms a connection's pool may sit unused in a thread before it is closed (0: never). */
        poolIdleCloseMs: int(0).default(300_000),
      })
      .prefault({}),
    queue: z
      .strictObject({
        maxWaiting: int(0).default(1000),
        maxWaitMs: int(0).default(10000),
        // Queue mode (BullMQ): absent → the in-process queue.
        redis: z.string().regex(/^rediss?:\/\/./, 'must be a redis:// or rediss:// URL').optional(),
        prefix: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'must be letters, digits, _, . or -').default('sluice'),
        resultTtlMs: int(1000).default(3_600_000),
        // Async jobs stored (queued + running + finished, unexpired): full → 429, never an eviction.
        maxStoredJobs: int(1).default(10_000),
        maxStoredJobsPerTenant: int(1).default(500),
        maxStoredJobsPerUser: int(1).default(100),
        lockDurationMs: int(1000).default(10_000),
      })
      .prefault({}),
    sql: z
      .strictObject({
        allowFunctions: z.array(z.string().min(1)).default([]),
        allowTypes: z.array(z.string().min(1)).default([]),
        cacheSize: int(0).default(1000),
        // Absent: node-sql-parser. sql-parser-cst is GPL-2.0-or-later: opt-in, installed by the user (docs/parsers.md).
        sqliteParser: z.enum(['node-sql-parser', 'sql-parser-cst']).optional(),
        literals: literalsSchema.optional(),
      })
      .prefault({}),
    logging: z.strictObject({ level: z.enum(LOG_LEVELS).default('info') }).prefault({}),
    permissions: permissionsSchema.default({}),
    health: healthSchema,
    observability: observabilitySchema,
    tenants: tenantsSchema.optional(),
  })
  .superRefine((c, ctx) => {
    if (Object.keys(c.connections).length === 0) {
      ctx.addIssue({ code: 'custom', path: ['connections'], message: 'define at least one connection' });
    }
    const { defaultRole } = c.auth;
    if (defaultRole !== undefined && !Object.hasOwn(c.permissions, defaultRole)) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'defaultRole'], message: `no role named "${defaultRole}" in permissions` });
    }
    for (const [role, byConnection] of Object.entries(c.permissions)) {
      for (const name of Object.keys(byConnection)) {
        if (name.startsWith(TIER_PREFIX)) {
          const tier = name.slice(TIER_PREFIX.length);
          if (!Object.hasOwn(c.tenants?.tiers ?? {}, tier)) {
            ctx.addIssue({ code: 'custom', path: ['permissions', role, name], message: `no tier named "${tier}" in tenants.tiers` });
          }
        } else if (!Object.hasOwn(c.connections, name)) {
          ctx.addIssue({ code: 'custom', path: ['permissions', role, name], message: `no connection named "${name}" in connections` });
        }
      }
    }
    if (c.tenants) checkTenants(c.tenants, c.connections, ctx);
    for (const name of Object.keys(c.sql.literals?.connections ?? {})) {
      if (!Object.hasOwn(c.connections, name)) ctx.addIssue({ code: 'custom', path: ['sql', 'literals', 'connections', name], message: `no connection named "${name}" in connections` });
    }
    for (const role of Object.keys(c.sql.literals?.roles ?? {})) {
      if (!Object.hasOwn(c.permissions, role)) ctx.addIssue({ code: 'custom', path: ['sql', 'literals', 'roles', role], message: `no role named "${role}" in permissions` });
    }
    checkReferences(c, ctx);
    if (c.workers.maxConnections !== undefined) {
      const perThread = Math.floor(c.workers.maxConnections / c.workers.threads);
      for (const [name, conn] of Object.entries(c.connections)) {
        if (conn.max > perThread) {
          ctx.addIssue({ code: 'custom', path: ['workers', 'maxConnections'], message: `leaves ${perThread} per thread, fewer than connections.${name}.max (${conn.max})` });
        }
      }
    }
  });

function checkTenants(t: TenantsInput, connections: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const connection = (name: string | undefined, path: (string | number)[]): void => {
    if (name !== undefined && !Object.hasOwn(connections, name)) ctx.addIssue({ code: 'custom', path, message: `no connection named "${name}" in connections` });
  };
  const route = (r: TenantsInput['routes'][string], path: (string | number)[]): void => {
    connection(r.connection, [...path, 'connection']);
    if (r.tier !== undefined && !Object.hasOwn(t.tiers, r.tier)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'tier'], message: `no tier named "${r.tier}" in tenants.tiers` });
    } else if (r.connection === undefined && r.status === 'active' && (r.tier === undefined || t.tiers[r.tier]!.connection === undefined)) {
      ctx.addIssue({ code: 'custom', path: [...path, 'connection'], message: 'is required (or a tier with a connection)' });
    }
  };
  for (const [name, tier] of Object.entries(t.tiers)) connection(tier.connection, ['tenants', 'tiers', name, 'connection']);
  if (t.default) route(t.default, ['tenants', 'default']);
  for (const [id, r] of Object.entries(t.routes)) route(r, ['tenants', 'routes', id]);
  if (t.directory) connection(t.directory.connection, ['tenants', 'directory', 'connection']);
}

function toIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys;
      return {
        path: formatPath([...issue.path, ...(keys.length === 1 ? [keys[0]!] : [])]),
        message: keys.length === 1 ? 'unknown key' : `unknown keys ${keys.map((k) => `"${k}"`).join(', ')}`,
      };
    }
    if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
      return { path: formatPath(issue.path), message: issue.path.length === 0 ? 'the config must be an object' : 'is required' };
    }
    return { path: formatPath(issue.path), message: issue.message };
  });
}

/** Validate, apply defaults, normalize and deep-freeze. Throws ConfigError naming the key path. */
export function parseConfig(raw: unknown): Readonly<SluiceConfig> {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(toIssues(result.error));
  const c = result.data;
  if (c.sql.sqliteParser === 'sql-parser-cst') requireCstInstalled();
  const jwt: SluiceConfig['auth']['jwt'] = { algorithms: c.auth.jwt.algorithms, clockTolerance: c.auth.jwt.clockTolerance, cacheSize: c.auth.jwt.cacheSize };
  for (const k of ['secret', 'publicKey', 'jwksUrl'] as const) {
    if (c.auth.jwt[k] !== undefined) jwt[k] = c.auth.jwt[k];
  }
  for (const k of ['issuer', 'audience'] as const) {
    const accepted = c.auth.jwt[k];
    if (accepted !== undefined) jwt[k] = accepted;
  }
  const auth: SluiceConfig['auth'] = { jwt, claims: c.auth.claims };
  if (c.auth.defaultRole !== undefined) auth.defaultRole = c.auth.defaultRole;
  const config: SluiceConfig = { ...c, auth };
  return deepFreeze(config);
}
