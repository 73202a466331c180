/**
 * CPU time per process (or thread) from /proc/<pid>/stat, so a bench can split what one request
 * costs between the gateway, the database and Redis. Linux only; elsewhere every meter reads 0.
 *
 * Database time is counted for the server processes (Postgres backends) or threads (MariaDB,
 * one thread per connection) serving the target's own TCP connections: the client ports of the
 * target process's sockets are matched against pg_stat_activity / information_schema.processlist.
 * Other helpers' sessions on the shared servers are therefore not counted. Redis is one process
 * shared with everything else on the machine, so its figure is noisier.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { statTicks } from '../test/helpers/proc-stat.js';

/** Ticks of /proc/<pid>/stat are 1/100 s on Linux (getconf CLK_TCK). */
const TICK_US = 10_000;

/** A set of processes/threads whose CPU is summed between start() and stop(). */
export interface Meter {
  start(): Promise<void>;
  /** µs of CPU since start(), summed over what was alive at both ends. */
  stop(): Promise<number>;
}

/** `task`: a thread of `pid`; otherwise the whole process (all its threads). */
export interface Task {
  pid: number;
  tid?: number;
}

const taskPath = (t: Task): string => (t.tid === undefined ? `/proc/${t.pid}/stat` : `/proc/${t.pid}/task/${t.tid}/stat`);

/**
 * Meters the tasks `resolve` names, resolved again every `pollMs` while metering: a connection
 * opened during the run (a pool recycling one) is counted from when it is first seen, and a task
 * that ends is counted up to its last sighting.
 */
export function taskMeter(resolve: () => Promise<Task[]>, hooks: { open?(): Promise<void>; close?(): Promise<void> } = {}, pollMs = 500): Meter {
  const seen = new Map<string, { first: number; last: number }>();
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> = Promise.resolve();
  async function poll(): Promise<void> {
    const tasks = await resolve();
    if (process.env.BENCH_DEBUG === '1') console.log('metering', tasks);
    for (const task of tasks) {
      const path = taskPath(task);
      const ticks = statTicks(path);
      if (ticks === undefined) continue;
      const s = seen.get(path);
      if (s) s.last = ticks;
      else seen.set(path, { first: ticks, last: ticks });
    }
    for (const [path, s] of seen) s.last = statTicks(path) ?? s.last;
  }
  return {
    async start() {
      seen.clear();
      await hooks.open?.();
      await poll();
      timer = setInterval(() => {
        polling = polling.then(poll).catch(() => undefined);
      }, pollMs);
    },
    async stop() {
      clearInterval(timer);
      await polling;
      await poll();
      await hooks.close?.();
      let sum = 0;
      for (const s of seen.values()) sum += s.last - s.first;
      return sum * TICK_US;
    },
  };
}

/** This process, all threads (µs precision). */
export function selfMeter(): Meter {
  let at = process.cpuUsage();
  return {
    async start() {
      at = process.cpuUsage();
    },
    async stop() {
      const d = process.cpuUsage(at);
      return d.user + d.system;
    },
  };
}

export function sumMeters(meters: Meter[]): Meter {
  return {
    async start() {
      await Promise.all(meters.map((m) => m.start()));
    },
    async stop() {
      const parts = await Promise.all(meters.map((m) => m.stop()));
      return parts.reduce((a, b) => a + b, 0);
    },
  };
}

export const noMeter: Meter = { start: async () => undefined, stop: async () => 0 };

/** Child processes of `pid`, recursively (e.g. sluice's SQLite processes). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const c of children.split(' ').filter(Boolean).map(Number)) out.push(c, ...descendants(c));
  }
  return out;
}

/** Local ports of `pid`'s TCP sockets connected to 127.0.0.1/::1 port `remotePort`. */
export function clientPorts(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return [];
  }
  const ports: number[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9]!)) continue;
      const local = parseInt(f[1]!.split(':')[1]!, 16);
      const remote = parseInt(f[2]!.split(':')[1]!, 16);
      if (remote === remotePort) ports.push(local);
    }
  }
  return ports;
}

/** First process whose command name is one of `names` (and whose command line contains `arg`, if given). */
export function findProcess(names: string[], arg?: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (!names.includes(comm)) continue;
      if (arg !== undefined && !readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(arg)) continue;
      return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Postgres backends serving `pids`' connections (the meter's own session excluded). */
export function postgresMeter(url: string, pids: () => number[]): Meter {
  let client: pg.Client | undefined;
  const port = Number(new URL(url).port || 5432);
  return taskMeter(
    async () => {
      const ports = pids().flatMap((p) => clientPorts(p, port));
      if (ports.length === 0 || !client) return [];
      const r = await client.query<{ pid: number }>('select pid from pg_stat_activity where client_port = any($1::int[]) and pid <> pg_backend_pid()', [ports]);
      return r.rows.map((row) => ({ pid: row.pid }));
    },
    {
      async open() {
        client = new pg.Client({ connectionString: url });
        await client.connect();
      },
      async close() {
        await client?.end();
        client = undefined;
      },
    },
  );
}

/** MariaDB threads serving `pids`' connections (information_schema.processlist has their TID). */
export function mariadbMeter(url: string, pids: () => number[]): Meter {
  let conn: mysql.Connection | undefined;
  let server: number | undefined;
  const port = Number(new URL(url).port || 3306);
  return taskMeter(
    async () => {
      const ports = pids().flatMap((p) => clientPorts(p, port));
      if (server === undefined || ports.length === 0 || !conn) return [];
      const [rows] = await conn.query('select host, tid from information_schema.processlist where id <> connection_id()');
      const wanted = new Set(ports.map((p) => `:${p}`));
      return (rows as Array<{ host: string; tid: number }>).filter((r) => wanted.has(r.host.slice(r.host.lastIndexOf(':')))).map((r) => ({ pid: server!, tid: r.tid }));
    },
    {
      async open() {
        server = findProcess(['mariadbd', 'mysqld']);
        conn = await mysql.createConnection({ uri: url });
      },
      async close() {
        await conn?.end();
        conn = undefined;
      },
    },
  );
}

/** The whole redis-server on `port` (shared with everything else using it). */
export function redisMeter(port: number): Meter {
  let pid: number | undefined;
  return taskMeter(async () => (pid === undefined ? [] : [{ pid }]), {
    async open() {
      pid = findProcess(['redis-server'], `:${port}`);
    },
  });
}

/** Whole processes (e.g. `sluice api` and `sluice worker`), with their children. */
export function processMeter(pids: () => number[]): Meter {
  return taskMeter(async () => pids().flatMap((p) => [p, ...descendants(p)]).map((pid) => ({ pid })));
}
