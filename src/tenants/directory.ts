/**
 * Routes read from a table, refreshed in the background and never looked up on the request path:
 * the router reads the last snapshot. The table has the columns tenant_id, connection, tier and
 * status (status NULL = active). A row that does not check out (unknown connection or tier,
 * unknown status) is kept as `invalid` so that tenant is refused rather than sent to the default.
 * A failed refresh keeps the previous snapshot and logs; until the first load succeeds, tenants
 * without a static route get 503 DATABASE_UNAVAILABLE.
 */
import type { ConnectionConfig, SluiceConfig, TenantRoute } from '../config/types.js';
import { TENANT_STATUSES, type TenantStatus } from '../config/tenants-schema.js';
import type { Driver } from '../drivers/driver.js';
import { SluiceError } from '../errors.js';
import { createDriver } from '../pool/create-driver.js';
import type { DirectoryLookup } from './router.js';

const QUERY_TIMEOUT_MS = 10_000;
const MAX_ROWS = 1_000_000;
/** The directory is the operator's table, read whole: bounded like any response, at the largest cap. */
const MAX_BYTES = 256 * 1024 * 1024;

export interface TenantDirectory {
  lookup: DirectoryLookup;
  /** Load once now (bounded by the query timeout); never rejects. */
  refresh(): Promise<boolean>;
  /** Tenants in the last snapshot, and when it was loaded (epoch ms; 0 = never). */
  info(): { tenants: number; loadedAt: number };
  /** The first `limit` entries of the last snapshot, for the operator console (never on the request path). */
  entries(limit: number): Array<[string, TenantRoute | 'invalid']>;
  close(): Promise<void>;
}

export type DirectoryLog = (msg: string, extra: Record<string, unknown>) => void;

function field(row: unknown, index: number, name: string): unknown {
  return Array.isArray(row) ? row[index] : (row as Record<string, unknown> | null)?.[name];
}

function toRoute(row: unknown, config: Readonly<SluiceConfig>): [string, TenantRoute | 'invalid'] | undefined {
  const id = field(row, 0, 'tenant_id');
  if (typeof id !== 'string' && typeof id !== 'number') return undefined;
  const connection = field(row, 1, 'connection');
  const tier = field(row, 2, 'tier');
  const status = field(row, 3, 'status') ?? 'active';
  const tiers = config.tenants?.tiers ?? {};
  const ok =
    (connection === null || (typeof connection === 'string' && Object.hasOwn(config.connections, connection))) &&
    (tier === null || (typeof tier === 'string' && Object.hasOwn(tiers, tier))) &&
    typeof status === 'string' &&
    (TENANT_STATUSES as readonly string[]).includes(status);
  if (!ok) return [String(id), 'invalid'];
  const route: TenantRoute = { status: status as TenantStatus };
  if (connection !== null) route.connection = connection as string;
  if (tier !== null) route.tier = tier as string;
  return [String(id), route];
}

/** The directory's own driver: no dbRole (a template needs claims the directory does not have). */
function directoryDriver(conn: ConnectionConfig, log: DirectoryLog): Driver {
  const plain = conn.dialect === 'postgres' ? (({ dbRole: _omit, ...rest }) => rest)(conn) : conn;
  return createDriver({ ...plain, max: 1 } as ConnectionConfig, (msg, details) => log(msg, details));
}

export function createTenantDirectory(config: Readonly<SluiceConfig>, log: DirectoryLog): TenantDirectory | undefined {
  const dir = config.tenants?.directory;
  if (!dir) return undefined;
  const driver = directoryDriver(config.connections[dir.connection]!, log);
  let snapshot: Map<string, TenantRoute | 'invalid'> | undefined;
  let loadedAt = 0;
  let inflight: Promise<boolean> | undefined;
  let closed = false;

  async function load(): Promise<boolean> {
    try {
      const result = await driver.execute({
        jobId: `directory-${Date.now()}`,
        sql: `SELECT tenant_id, connection, tier, status FROM ${dir!.table}`,
        params: [],
        method: 'all',
        claims: {},
        timeoutMs: QUERY_TIMEOUT_MS,
        maxRows: MAX_ROWS,
        maxResponseBytes: MAX_BYTES,
        readOnly: true,
      });
      if (result.truncated) log('tenant directory truncated', { rows: MAX_ROWS });
      const next = new Map<string, TenantRoute | 'invalid'>();
      for (const row of result.rows) {
        const entry = toRoute(row, config);
        if (entry) next.set(entry[0], entry[1]);
      }
      snapshot = next;
      loadedAt = Date.now();
      return true;
    } catch (err) {
      log('tenant directory refresh failed; keeping the previous snapshot', { err: err instanceof Error ? err.message : String(err) });
      return false;
    }
  }

  function refresh(): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    inflight ??= load().finally(() => (inflight = undefined));
    return inflight;
  }

  const timer = setInterval(() => void refresh(), dir.refreshMs);
  timer.unref();

  return {
    lookup(tenant) {
      if (!snapshot) throw new SluiceError('DATABASE_UNAVAILABLE', 'The tenant directory has not loaded yet; retry later', { retryAfter: 1 });
      return snapshot.get(tenant);
    },
    refresh,
    info: () => ({ tenants: snapshot?.size ?? 0, loadedAt }),
    entries(limit) {
      const out: Array<[string, TenantRoute | 'invalid']> = [];
      if (!snapshot) return out;
      for (const entry of snapshot) {
        if (out.length >= limit) break;
        out.push(entry);
      }
      return out;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await inflight?.catch(() => undefined);
      await driver.close();
    },
  };
}
