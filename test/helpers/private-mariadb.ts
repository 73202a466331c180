/**
 * A PRIVATE MariaDB server for tests that need server settings the shared one (3306) does not
 * have, e.g. TLS required: its own temp data directory, port and socket. Uses the system's
 * mariadb-install-db and mariadbd; runs as root with --user=root when the tests do.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitUntil } from './wait-until.js';

const run = promisify(execFile);
const INSTALL_DB = '/usr/bin/mariadb-install-db';
const MARIADBD = '/usr/sbin/mariadbd';
const CLIENT = '/usr/bin/mariadb';

export function privateMariadbAvailable(): boolean {
  return [INSTALL_DB, MARIADBD, CLIENT].every((b) => existsSync(b));
}

export interface PrivateMariadb {
  readonly port: number;
  /** Run SQL as root over the server's socket (no TLS needed there). */
  sql(statements: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPrivateMariadb(port: number, serverArgs: string[] = []): Promise<PrivateMariadb> {
  const dir = await mkdtemp(join(tmpdir(), `sluice-mariadb-${port}-`));
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  await run(INSTALL_DB, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=socket', '--skip-test-db', ...asRoot], { timeout: 120_000 });
  let output = '';
  const child: ChildProcess = spawn(
    MARIADBD,
    ['--no-defaults', `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${socket}`, `--pid-file=${join(dir, 'mysqld.pid')}`, '--skip-log-bin', '--innodb-buffer-pool-size=32M', ...asRoot, ...serverArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const sql = async (statements: string): Promise<string> => (await run(CLIENT, [`--socket=${socket}`, '-uroot', '-N', '-e', statements], { timeout: 30_000 })).stdout;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(`the private MariaDB on ${port} (${output.slice(-500)})`, async () => sql('select 1').then(() => true, () => false), 60_000, 200);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${output.slice(-2000)}`);
  }
  return { port, sql, stop };
}
