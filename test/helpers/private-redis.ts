/**
 * A private redis-server that a test may kill -9 and restart: its own port and its own temp
 * directory (for the append-only file), never the shared Redis on 6379.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAvailable } from './services.js';
import { waitUntil } from './wait-until.js';

export interface PrivateRedis {
  readonly url: string;
  /** Start (or start again, on the same port and directory). Resolves once it answers PING. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown save, clients see the socket drop. */
  kill(): Promise<void>;
  /** Kill if running and remove the directory. */
  dispose(): Promise<void>;
}

/** `appendonly`: keep every write in an AOF (fsync every second), as docs/queue-mode.md recommends. */
export function privateRedis(port: number, opts: { appendonly: boolean }): PrivateRedis {
  const dir = mkdtempSync(join(tmpdir(), `sluice-redis-${port}-`));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  async function kill(): Promise<void> {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  return {
    url,
    async start() {
      if (await redisAvailable(url, 200)) throw new Error(`port ${port} already answers PING: not ours, refusing to use it`);
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction'];
      args.push('--appendonly', opts.appendonly ? 'yes' : 'no');
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await waitUntil(`redis-server on ${port}`, () => redisAvailable(url, 200), 10_000);
    },
    kill,
    async dispose() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
