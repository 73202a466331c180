/**
 * A PRIVATE Postgres cluster for tests that must stop, kill or restart the database: its own temp
 * data directory, its own port, its own socket directory, so the shared server on 5432 is never
 * touched. Uses the PG binaries in SLUICE_PG_BIN (default /usr/lib/postgresql/15/bin).
 *
 * initdb and postgres refuse to run as root: as root, every command runs through
 * `runuser -u postgres --` in a directory chowned to that user.
 *
 * Skipped locally when the binaries (or, as root, runuser and a `postgres` user) are missing;
 * a failure under CI=true (requireService).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe } from 'vitest';
import { requireService } from './services.js';

const run = promisify(execFile);

export const PG_BIN = process.env.SLUICE_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const RUNUSER = '/usr/sbin/runuser';
const OS_USER = 'postgres';
/** pg_ctl's own wait (-t) and our bound on each command, in seconds / ms. */
const PG_CTL_WAIT_S = 60;
const COMMAND_TIMEOUT_MS = (PG_CTL_WAIT_S + 10) * 1000;

const isRoot = process.getuid?.() === 0;

function osUserIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', OS_USER], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    const gid = Number(execFileSync('id', ['-g', OS_USER], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** The binaries are there and, as root, there is a user to run them as. */
export function privatePostgresAvailable(): boolean {
  const bins = ['initdb', 'pg_ctl', 'postgres'].every((b) => existsSync(join(PG_BIN, b)));
  return bins && (!isRoot || (existsSync(RUNUSER) && osUserIds() !== undefined));
}

const available = requireService(`Postgres binaries in ${PG_BIN} (for a private test cluster)`, privatePostgresAvailable());

/** describe() when a private cluster can be started, describe.skip() otherwise (and a failure under CI). */
export const describeIfPrivatePg: typeof describe = available ? describe : (describe.skip as typeof describe);

export interface PrivatePostgres {
  readonly port: number;
  /** Superuser `postgres`, trust auth, database `postgres`. */
  readonly url: string;
  /** Start (again) and wait until it accepts connections. */
  start(): Promise<void>;
  /** Stop and wait: `fast` (the default) rolls back running transactions and disconnects everyone. */
  stop(mode?: 'smart' | 'fast' | 'immediate'): Promise<void>;
  /** Stop (immediate) if running and delete the cluster. Idempotent; never throws. */
  destroy(): Promise<void>;
  /** The server's log, for a failing test's message. */
  log(): Promise<string>;
}

function command(bin: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN, bin);
  return isRoot ? [RUNUSER, ['-u', OS_USER, '--', path, ...args]] : [path, args];
}

async function pg(bin: string, args: string[]): Promise<string> {
  const [file, argv] = command(bin, args);
  try {
    const { stdout } = await run(file, argv, { timeout: COMMAND_TIMEOUT_MS });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

const dirPrefix = (port: number): string => `sluice-pg-${port}-`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A cluster a crashed earlier run left behind on this port (its owning process is gone): ours to
 * stop and delete. One whose owner still runs is left alone (the port check then fails loudly).
 */
async function removeStale(port: number): Promise<void> {
  const root = tmpdir();
  for (const name of await readdir(root)) {
    if (!name.startsWith(dirPrefix(port))) continue;
    const owner = Number(await readFile(join(root, name, 'owner.pid'), 'utf8').catch(() => ''));
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
    const data = join(root, name, 'data');
    if (existsSync(join(data, 'postmaster.pid'))) await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(join(root, name), { recursive: true, force: true });
  }
}

export interface PrivatePostgresOptions {
  /** Extra `-c name=value` server settings (e.g. ssl=on). */
  settings?: string[];
  /** Runs after initdb, before the first start: write pg_hba.conf, certificates… (files must be given to the server's user: `own`). */
  beforeStart?: (cluster: { dir: string; data: string; own(path: string): Promise<void> }) => Promise<void>;
}

/** initdb a fresh cluster in a temp directory and start it on 127.0.0.1:`port`. */
export async function startPrivatePostgres(port: number, opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  await removeStale(port);
  if (await portAnswers(port)) throw new Error(`port ${port} is already in use by something this helper did not start`);
  const dir = await mkdtemp(join(tmpdir(), dirPrefix(port)));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  if (isRoot) {
    const ids = osUserIds()!;
    await chown(dir, ids.uid, ids.gid);
  }
  let destroyed = false;
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    // Durability against an OS crash is not under test; a fast shutdown still checkpoints.
    '-c fsync=off',
    '-c max_connections=60',
    ...(opts.settings ?? []).map((s) => `-c ${s}`),
  ].join(' ');

  const db: PrivatePostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async start() {
      await pg('pg_ctl', ['-D', data, '-l', logFile, '-o', options, '-w', '-t', String(PG_CTL_WAIT_S), 'start']);
    },
    async stop(mode = 'fast') {
      await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', String(PG_CTL_WAIT_S), 'stop']);
    },
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      if (existsSync(join(data, 'postmaster.pid'))) await pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
    async log() {
      return readFile(logFile, 'utf8').catch(() => '');
    },
  };
  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    const own = async (path: string): Promise<void> => {
      if (!isRoot) return;
      const ids = osUserIds()!;
      await chown(path, ids.uid, ids.gid);
    };
    await opts.beforeStart?.({ dir, data, own });
    await db.start();
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}
