/**
 * What the operator console (/admin) shows about recent traffic, kept in memory and bounded: the
 * last refusals of /data and /jobs (a ring buffer of code, role, tenant, connection, tables and
 * time — never the SQL, parameters, claims or rows) and the queue waits of the last statements
 * that ran, for p50/p99. Fed once per answered request by the observability hook that also feeds
 * the metrics; nothing here is on the path of a request that succeeds beyond one array write.
 */

/** One refused request, as the console lists it. Only these fields: nothing from the body but the connection name. */
export interface Refusal {
  /** ISO time the answer was sent. */
  at: string;
  code: string;
  status: number;
  /** `POST /data`, `GET /jobs/:id`, … (the route pattern, never the raw URL). */
  route: string;
  role?: string;
  tenant?: string;
  /** Only a configured connection's name: a failed request may carry any string the client sent. */
  connection?: string;
  /** The statement's tables when it passed the check, or the table a TABLE_/OPERATION_NOT_ALLOWED refused. */
  tables?: string[];
}

export interface FeedObservation {
  method: string;
  route: string;
  status: number;
  code: string;
  role?: string | undefined;
  tenant?: string | number | undefined;
  connection?: string | undefined;
  tables?: readonly string[] | undefined;
  /** Queue wait of a /data statement that ran. */
  waitMs?: number | undefined;
}

export interface WaitSummary {
  /** Statements in the window (at most the window size). */
  samples: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface ConsoleFeed {
  record(o: FeedObservation): void;
  /** Newest first. */
  refusals(): Refusal[];
  waits(): WaitSummary;
}

export interface ConsoleFeedOptions {
  /** Refusals kept (default 100). */
  maxRefusals?: number;
  /** Waits kept for the percentiles (default 1000). */
  waitWindow?: number;
  /** Whether a connection name is one of the config's (read per call: a reload may change them). */
  isConnection?: (name: string) => boolean;
  now?: () => number;
}

/** Claim values and role names are the token's; bounded so a huge claim cannot bloat the buffer. */
const MAX_LABEL = 128;
const MAX_TABLES = 16;

function label(v: string | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  const s = String(v);
  return s.length > MAX_LABEL ? `${s.slice(0, MAX_LABEL)}…` : s;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function isTracked(route: string): boolean {
  return route === '/data' || route === '/jobs' || route.startsWith('/jobs/');
}

export function createConsoleFeed(opts: ConsoleFeedOptions = {}): ConsoleFeed {
  const maxRefusals = opts.maxRefusals ?? 100;
  const window = opts.waitWindow ?? 1000;
  const now = opts.now ?? Date.now;
  const isConnection = opts.isConnection ?? (() => false);
  const refusals: Refusal[] = [];
  let nextRefusal = 0;
  const waits: number[] = [];
  let nextWait = 0;

  return {
    record(o) {
      if (!isTracked(o.route)) return;
      if (o.waitMs !== undefined && o.status < 400) {
        waits[nextWait] = o.waitMs;
        nextWait = (nextWait + 1) % window;
      }
      if (o.status < 400) return;
      const r: Refusal = { at: new Date(now()).toISOString(), code: o.code, status: o.status, route: `${o.method} ${o.route}` };
      const role = label(o.role);
      const tenant = label(o.tenant);
      if (role !== undefined) r.role = role;
      if (tenant !== undefined) r.tenant = tenant;
      if (o.connection !== undefined && isConnection(o.connection)) r.connection = o.connection;
      if (o.tables !== undefined && o.tables.length > 0) r.tables = o.tables.slice(0, MAX_TABLES).map((t) => label(t)!);
      refusals[nextRefusal] = r;
      nextRefusal = (nextRefusal + 1) % maxRefusals;
    },
    refusals() {
      // The ring from newest to oldest.
      const out: Refusal[] = [];
      for (let i = 1; i <= refusals.length; i++) out.push(refusals[(nextRefusal - i + maxRefusals) % maxRefusals]!);
      return out;
    },
    waits() {
      const sorted = [...waits].sort((a, b) => a - b);
      return { samples: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
    },
  };
}
