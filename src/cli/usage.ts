/**
 * Exit codes: 0 success, 1 refused / failed at run time, 2 bad usage or bad config, 3 `check` could
 * not determine the route (the tenant directory it depends on could not be read).
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, undetermined: 3 } as const;

export class UsageError extends Error {
  override name = 'UsageError';
}

export const USAGE = `usage:
  sluice serve --config FILE [--port N] [--host H]
  sluice api --config FILE [--port N] [--host H]     (queue mode: HTTP front only, needs queue.redis)
  sluice worker --config FILE [--threads N] [--metrics-port N]
                                                     (queue mode: a worker process, needs queue.redis)
  sluice token --config FILE --claims JSON [--expires 1h]
  sluice check --config FILE --claims JSON --sql SQL [--connection NAME]
  sluice init --from-database URL [--tenant-column tenant_id] [--tenant-claim REF] [--schema S]… [--out FILE]
                                                     (a starting config, YAML, from the database's tables)
  sluice demo

  FILE is .json, .yaml or .yml; \${VAR} and \${VAR:-default} are read from the environment.`;

export function requireOption(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`);
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
