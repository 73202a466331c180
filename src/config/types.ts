/**
 * The validated, normalized configuration. `config/schema.ts` turns the user's file (or object)
 * into this shape once at start-up; everything downstream receives it frozen and never re-reads
 * the environment. It is structured-clone safe, so it crosses into worker threads as-is.
 */

/** A literal, or a string "$claims.<path>" naming a JWT claim. */
export type FilterValue = string | number | boolean | null;

export interface FilterOps {
  eq?: FilterValue;
  ne?: FilterValue;
  lt?: FilterValue;
  lte?: FilterValue;
  gt?: FilterValue;
  gte?: FilterValue;
  /** A list of literals/claim refs, or one claim ref that resolves to an array. */
  in?: FilterValue[] | string;
}

/**
 * A row filter. Keys are column names (value: literal, claim ref, or operator object), or `and` /
 * `or` with a list of filters. Several keys in one object are ANDed.
 */
export type Filter = { and?: Filter[]; or?: Filter[] } & { [column: string]: FilterValue | FilterOps | Filter[] | undefined };

export type Columns = '*' | string[];

export interface SelectPermission {
  columns: Columns;
  filter?: Filter;
}
export interface InsertPermission {
  columns: Columns;
  /** Presets: column → literal or claim ref, always written by the gateway. */
  set?: Record<string, FilterValue>;
}
export interface UpdatePermission {
  columns: Columns;
  filter?: Filter;
}
export interface DeletePermission {
  filter?: Filter;
}
/** A foreign key whose referenced row must be visible to the caller (docs/security.md). */
export interface Reference {
  /** A table of the same permission map, written as its key there ("customers" or "schema.customers"). */
  table: string;
  column: string;
}
export interface TablePermission {
  select?: SelectPermission;
  insert?: InsertPermission;
  update?: UpdatePermission;
  delete?: DeletePermission;
  /** Column → the row it references; a write must name a row the caller can see (Postgres only). */
  references?: Record<string, Reference>;
}

/** role → connection → table ("table" in the connection's default schema, or "schema.table"). */
export type Permissions = Record<string, Record<string, Record<string, TablePermission>>>;

/** Read replicas of a Postgres or MySQL connection (docs/configuration.md, "Read replicas"). */
export interface ReadReplicas {
  /** Replica URLs, same dialect as `url`; absent or empty: every statement runs on the primary. */
  replicas?: string[];
  /** `always` (default): every read-only statement goes to a replica; `overflow`: only while the primary's pool is busier than replicaUtilization. */
  replicaReads?: 'always' | 'overflow';
  /** 0–1 (default 0.85): the primary's (active + waiting) / max above which `overflow` diverts reads. */
  replicaUtilization?: number;
}
/** Connection recycling and checkout validation (docs/configuration.md, "Connection lifecycle"). */
export interface PoolLifecycle {
  /** Leases a connection serves before it is closed on release; 0 or absent: unlimited. */
  maxUses?: number;
  /** ms a connection lives before it is closed (on release, or when idle); 0 or absent: unlimited. */
  maxLifetimeMs?: number;
  /** A connection idle longer than this (ms) is pinged before it is handed out; absent: 30000; 0: never. */
  validateAfterIdleMs?: number;
}
export interface PostgresConnectionConfig extends ReadReplicas, PoolLifecycle {
  dialect: 'postgres';
  url: string;
  /** Connections per worker thread. */
  max: number;
  /** SET LOCAL ROLE for every lease, when set; `{claim.path}` parts are filled from the claims (tenant_{tenant_id}). */
  dbRole?: string;
  /** Default schema for unqualified table names. */
  schema: string;
  idleTimeoutMs: number;
  connectionTimeoutMs: number;
  /** Named prepared statements kept per connection (LRU, pg-prepared.ts); 0: none; absent: DEFAULT_PREPARED_STATEMENTS. */
  preparedStatements?: number;
}
export interface MysqlConnectionConfig extends ReadReplicas, PoolLifecycle {
  dialect: 'mysql';
  url: string;
  /** Connections per worker thread. */
  max: number;
  /** Default schema (MySQL database) for unqualified table names: the URL's database. */
  schema: string;
  idleTimeoutMs: number;
  connectionTimeoutMs: number;
  /** Claim path bound as the session variable @sluice_tenant_id for each lease. */
  tenantClaim: string;
  /**
   * false: @sluice_tenant_id and @sluice_claims are not set (nothing on the database reads them);
   * on MariaDB a lone read then goes in one round trip. Absent: true.
   */
  contextVariables?: boolean;
}
export interface SqliteConnectionConfig {
  dialect: 'sqlite';
  /** Path of the database file (resolved against the working directory at start-up). */
  file: string;
  /** Always "main" (the SQLite name of the opened database). */
  schema: 'main';
  /** Connections per worker thread (SQLite: 1). */
  max: number;
  /** ms SQLite waits on a locked database before SQLITE_BUSY. */
  busyTimeoutMs: number;
}
export type ConnectionConfig = PostgresConnectionConfig | MysqlConnectionConfig | SqliteConnectionConfig;
export type Dialect = ConnectionConfig['dialect'];

/** The parsers SQLite statements can be read with (docs/parsers.md). */
export type SqliteParser = 'node-sql-parser' | 'sql-parser-cst';

export type LiteralMode = 'allow' | 'refuse-strings' | 'refuse';

/** `sql.literals`, normalized: a role's mode wins over its connection's, which wins over `default`. */
export interface LiteralsConfig {
  default: LiteralMode;
  connections: Record<string, LiteralMode>;
  roles: Record<string, LiteralMode>;
}

export interface JwtConfig {
  secret?: string;
  publicKey?: string;
  jwksUrl?: string;
  algorithms: string[];
  /** The token's `iss` must be this, or one of these. */
  issuer?: string | string[];
  /** The token's `aud` must contain this, or one of these. */
  audience?: string | string[];
  /** Seconds of clock skew tolerated on exp/nbf. */
  clockTolerance: number;
  /** Verified tokens remembered (each for at most 60 s and never past its exp); 0 disables. */
  cacheSize: number;
}

export interface Limits {
  /** ms; statement_timeout and the request deadline. */
  queryTimeout: number;
  /** Requests per user per minute (0 disables). */
  rateLimitPerUser: number;
  /** Requests per client IP per minute (0 disables). */
  rateLimitPerIP: number;
  maxRows: number;
  /** Bytes of row JSON a response may carry; drivers enforce it while rows arrive. */
  maxResponseBytes: number;
  maxRelationDepth: number;
  maxFilterNesting: number;
  maxSqlLength: number;
  maxParams: number;
  /** Nesting of arrays/objects in a request body or in token claims (json-depth.ts). */
  maxJsonDepth: number;
  /** Tokens of the client's SQL, counted before parsing. */
  maxSqlTokens: number;
  /** Nodes of the parsed statement. */
  maxSqlNodes: number;
  /** UNION/INTERSECT/EXCEPT in one statement. */
  maxSetOperations: number;
  /** Table references in one statement (each becomes a filtered view). */
  maxTableReferences: number;
  /** How many times larger than its largest input an expression's value may grow. */
  maxValueGrowth: number;
  /** Characters of a search string, pattern, character set or replacement. */
  maxPatternLength: number;
  /** Length a cast or a format width may pad a value to. */
  maxPadLength: number;
}

export type TenantStatus = 'active' | 'suspended' | 'maintenance';
export interface TenantRoute {
  /** Omitted: the tier's connection. */
  connection?: string | undefined;
  tier?: string | undefined;
  status: TenantStatus;
}
export interface TenantTier {
  connection?: string | undefined;
  maxConcurrent?: number | undefined;
  maxWaiting?: number | undefined;
  status: TenantStatus;
}
export interface TenantsConfig {
  /** Tenants with no route of their own; absent → TENANT_UNKNOWN. */
  default?: TenantRoute | undefined;
  tiers: Record<string, TenantTier>;
  /** Tenant id → route. */
  routes: Record<string, TenantRoute>;
  maxConcurrent?: number | undefined;
  maxWaiting?: number | undefined;
  maintenanceRetryAfter: number;
  directory?: { connection: string; table: string; refreshMs: number } | undefined;
}

/** server.trustProxy: trust nobody's / everybody's X-Forwarded-For, or only these addresses / CIDR ranges'. */
export type TrustProxy = boolean | string[];

/** server.cors (config/cors-schema.ts). */
export interface CorsConfig {
  /** Exact origins, or ["*"]. */
  origins: string[];
  credentials: boolean;
  /** Seconds a browser may cache a preflight answer. */
  maxAge: number;
}

export interface SluiceConfig {
  server: { host: string; port: number; bodyLimit: number; trustProxy: TrustProxy; drainDelayMs: number; requestTimeoutMs: number; adminToken?: string | undefined; cors?: CorsConfig | undefined };
  auth: {
    jwt: JwtConfig;
    claims: { role: string; tenant: string; user: string };
    /** The role of a token whose role claim is absent or null; absent: such a token is TOKEN_INVALID. */
    defaultRole?: string | undefined;
  };
  /** Insertion order matters: the first connection is the default. */
  connections: Record<string, ConnectionConfig>;
  limits: Limits;
  workers: {
    /** Worker threads in the piscina pool. */
    threads: number;
    /** Connections this process may hold across every connection's pools; each thread gets an equal share. */
    maxConnections?: number | undefined;
    /** ms an unused pool stays open in a thread (0: never closed). */
    poolIdleCloseMs: number;
  };
  queue: {
    /** Jobs allowed to wait for a free connection before new ones get 503. */
    maxWaiting: number;
    /** ms a job may wait in the queue before it gets 503. */
    maxWaitMs: number;
    /** Redis URL: turns queue mode (BullMQ) on. Absent: the in-process queue. */
    redis?: string;
    /** Prefix of every Redis key sluice writes. */
    prefix: string;
    /** ms an async job's state and result are kept after it finishes. */
    resultTtlMs: number;
    /** Async jobs stored at once (queued, running, finished and unexpired): in this process, or in Redis per prefix. */
    maxStoredJobs: number;
    /** … of one tenant (jobs of tokens without a tenant claim count only per user and in all). */
    maxStoredJobsPerTenant: number;
    /** … of one owner (user and tenant). */
    maxStoredJobsPerUser: number;
    /** ms a worker's lock on a running job lasts; a dead worker's jobs are detected within ~1.5× this. */
    lockDurationMs: number;
  };
  sql: {
    /** Extra function names allowed on top of the built-in allowlist. */
    allowFunctions: string[];
    /** Extra type names allowed in casts on top of the built-in allowlist. */
    allowTypes: string[];
    /** Entries in each thread's checked-statement LRU cache. */
    cacheSize: number;
    /** The parser SQLite statements are read with (absent: node-sql-parser); sql-parser-cst is opt-in (GPL, user-installed). */
    sqliteParser?: SqliteParser | undefined;
    /** Literals in the client's SQL (sql/literals/): absent means `allow` everywhere. */
    literals?: LiteralsConfig | undefined;
  };
  logging: { level: string };
  permissions: Permissions;
  /** Circuit breaker and health checks per connection (config/health-schema.ts). */
  health: import('./health-schema.js').HealthConfig;
  /** GET /metrics and the audit log (config/observability-schema.ts). */
  observability: import('./observability-schema.js').ObservabilityConfig;
  /** Tenant → connection/tier routing; absent: the body's `connection` (or the first) serves everyone. */
  tenants?: TenantsConfig | undefined;
}
