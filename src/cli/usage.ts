/**
 * Exit codes: 0 success, 1 refused / failed at run time, 2 bad usage or bad config, 3 `check` could
 * not determine the route (the tenant directory it depends on could not be read).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, undetermined: 3 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
  /** The command whose usage to print with the message; absent: the overview. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** Every option any command takes (util.parseArgs); which command takes which is in COMMANDS. */
export const OPTIONS = {
  config: { type: 'string', short: 'c' },
  port: { type: 'string', short: 'p' },
  host: { type: 'string' },
  claims: { type: 'string' },
  expires: { type: 'string' },
  sql: { type: 'string' },
  connection: { type: 'string' },
  threads: { type: 'string' },
  'metrics-port': { type: 'string' },
  url: { type: 'string' },
  timeout: { type: 'string' },
  'from-database': { type: 'string' },
  'tenant-column': { type: 'string' },
  'tenant-claim': { type: 'string' },
  schema: { type: 'string', multiple: true },
  out: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export type OptionName = keyof typeof OPTIONS;

interface CommandSpec {
  synopsis: string;
  summary: string;
  /** Options beyond --help, with one line each for `sluice <command> --help`. */
  options: Partial<Record<OptionName, string>>;
  /** Lines after the options (exit codes, signals). */
  notes?: string[];
}

const CONFIG_OPTION = 'the config file (.json, .yaml or .yml)';

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  serve: {
    synopsis: 'sluice serve --config FILE [--port N] [--host H]',
    summary: 'HTTP front and worker threads in one process',
    options: { config: CONFIG_OPTION, port: 'overrides server.port (0 picks a free port)', host: 'overrides server.host' },
    notes: ['SIGHUP reloads the config file; SIGTERM/SIGINT drain and exit 0 (server.drainDelayMs first).'],
  },
  api: {
    synopsis: 'sluice api --config FILE [--port N] [--host H]',
    summary: 'queue mode: the HTTP front only (needs queue.redis)',
    options: { config: CONFIG_OPTION, port: 'overrides server.port (0 picks a free port)', host: 'overrides server.host' },
    notes: ['SIGHUP reloads the config file; SIGTERM/SIGINT drain and exit 0 (server.drainDelayMs first).'],
  },
  worker: {
    synopsis: 'sluice worker --config FILE [--threads N] [--metrics-port N]',
    summary: 'queue mode: a worker process running queries from Redis (needs queue.redis)',
    options: {
      config: CONFIG_OPTION,
      threads: 'overrides workers.threads (1-256)',
      'metrics-port': 'serves GET /metrics, /healthz and /readyz on this port (overrides observability.metrics.workerPort)',
    },
    notes: ['SIGHUP reloads the config file; SIGTERM/SIGINT finish running jobs (bounded) and exit 0.'],
  },
  validate: {
    synopsis: 'sluice validate --config FILE',
    summary: 'check a config file (no database is contacted)',
    options: { config: CONFIG_OPTION },
    notes: ['Exit 0 with a one-line summary, or 2 with one line per error naming its key.'],
  },
  token: {
    synopsis: 'sluice token --config FILE --claims JSON [--expires 1h]',
    summary: 'sign a development token with the config\'s HMAC secret',
    options: { config: CONFIG_OPTION, claims: 'the token payload, a JSON object', expires: 'lifetime, e.g. 15m, 1h, 7d (default 1h)' },
  },
  check: {
    synopsis: 'sluice check --config FILE --claims JSON --sql SQL [--connection NAME]',
    summary: 'what the gateway would do with this SQL for these claims (no database needed)',
    options: { config: CONFIG_OPTION, claims: 'the token payload, a JSON object', sql: 'the statement', connection: 'the connection (default: the first)' },
    notes: ['Exit 0 when allowed, 1 when refused.'],
  },
  healthcheck: {
    synopsis: 'sluice healthcheck [--url URL] [--timeout MS]',
    summary: 'probe a running sluice (container HEALTHCHECK): exit 0 if it answers 2xx',
    options: {
      url: 'what to GET (default: $SLUICE_HEALTHCHECK_URL, else http://127.0.0.1:8080/readyz)',
      timeout: 'ms to wait for the answer (default 4000)',
    },
  },
  init: {
    synopsis: 'sluice init --from-database URL [--tenant-column tenant_id] [--tenant-claim REF] [--schema S]… [--out FILE]',
    summary: 'a starting config (YAML) from the database\'s tables, tenant-scoped where they have the tenant column',
    options: {
      'from-database': 'the database to read (postgres://…, mysql://…, a SQLite file)',
      'tenant-column': 'the column that names a row\'s tenant (default tenant_id)',
      'tenant-claim': 'the token claim holding the tenant (default: the tenant column\'s name)',
      schema: 'a schema to read (repeatable; Postgres: default the search_path\'s)',
      out: 'write the config to this file (never overwritten; default: standard output)',
    },
  },
  demo: {
    synopsis: 'sluice demo',
    summary: 'a demo gateway on an embedded SQLite database, with tokens to try',
    options: {},
  },
};

const ENV_NOTE = `FILE is .json, .yaml or .yml; \${VAR} and \${VAR:-default} are read from the environment,
  \${file:/path} from a file (e.g. /run/secrets/jwt; trailing line breaks removed).`;

export const USAGE = `usage:
${Object.values(COMMANDS)
  .map((c) => `  ${c.synopsis}\n      ${c.summary}`)
  .join('\n')}
  sluice --version
  sluice <command> --help

  ${ENV_NOTE}`;

/** `sluice <command> --help`. */
export function commandUsage(command: string): string {
  const spec = COMMANDS[command]!;
  const options = Object.entries(spec.options).map(([name, text]) => `  --${name.padEnd(14)} ${text}`);
  return [
    `usage: ${spec.synopsis}`,
    '',
    `${spec.summary}.`,
    ...(options.length > 0 ? ['', 'options:', ...options] : []),
    `  --${'help'.padEnd(14)} this text`,
    ...(spec.notes ? ['', ...spec.notes] : []),
    ...(spec.options.config !== undefined ? ['', ENV_NOTE] : []),
  ].join('\n');
}

export function isCommand(name: string | undefined): name is string {
  return name !== undefined && Object.hasOwn(COMMANDS, name);
}

/** An option the command does not take is refused, not silently ignored (`sluice token --threads 4`). */
export function checkOptions(command: string, values: Partial<Record<OptionName, unknown>>): void {
  const allowed = COMMANDS[command]!.options;
  for (const name of Object.keys(values) as OptionName[]) {
    if (name === 'help' || values[name] === undefined) continue;
    if (!Object.hasOwn(allowed, name)) throw new UsageError(`--${name} is not an option of sluice ${command}`, command);
  }
}

export function requireOption(values: Record<string, unknown>, name: string, command?: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`, command);
  return v;
}

export function parseClaims(json: string): Record<string, unknown> {
  let claims: unknown;
  try {
    claims = JSON.parse(json);
  } catch {
    throw new UsageError('--claims must be a JSON object, e.g. \'{"sub":"u1","role":"member","tenant_id":1}\'');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new UsageError('--claims must be a JSON object');
  return claims as Record<string, unknown>;
}

export function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${value}`);
  return port;
}
