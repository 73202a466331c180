/**
 * The worker thread's side of its SQLite process: fork it, send one request at a time, and SIGKILL
 * it at a deadline or on cancel. A killed (or crashed) process is replaced right away, so the next
 * statement does not pay for the start-up. SIGKILL cannot corrupt the file: SQLite's WAL ignores
 * the frames of a transaction that never committed, and the OS drops the dead process's locks.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SluiceError } from '../../errors.js';
import type { SqliteExecMessage, SqliteProcessOptions, SqliteReply, SqliteRequest, SqliteStatementResult } from './sqlite-protocol.js';

export type SqliteLog = (msg: string, details: Record<string, unknown>) => void;

/**
 * After `tsc` the entry is dist/workers/sqlite-process.js; from source (vitest, tsx) only the .ts
 * exists and the process needs tsx loaded. The relative path is the same in both layouts.
 */
function resolveEntry(): { filename: string; execArgv: string[] } {
  const js = fileURLToPath(new URL('../../../workers/sqlite-process.js', import.meta.url));
  if (existsSync(js)) return { filename: js, execArgv: [] };
  let tsx = 'tsx';
  try {
    tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  } catch {
    // fall back to resolving by name from the working directory
  }
  return { filename: fileURLToPath(new URL('../../../workers/sqlite-process.ts', import.meta.url)), execArgv: ['--import', tsx] };
}

interface Pending {
  resolve(results: SqliteStatementResult[]): void;
  reject(err: SluiceError): void;
}

interface Started {
  child: ChildProcess;
  ready: Promise<void>;
  pending: Map<number, Pending>;
  /** Why we killed it: what the in-flight request rejects with. */
  killedFor: SluiceError | null;
}

export interface SqliteProcess {
  /**
   * Resolves once a process is running and has opened the database (starting one if none is).
   * Start-up has its own bound (STARTUP_TIMEOUT_MS from the spawn), so a caller waits here before
   * its statement's deadline starts: a cold start on a busy machine never eats the statement's
   * time, and a statement's deadline never kills a process that is still starting.
   */
  ready(): Promise<void>;
  /** One request; rejects with a mapped SluiceError. Call kill() to stop it early. */
  request(msg: Omit<SqliteExecMessage, 'id'> | { type: 'ping' }): Promise<SqliteStatementResult[]>;
  /** SIGKILL the process now; its in-flight request rejects with `reason`. A new one is started. */
  kill(reason: SluiceError): void;
  /** pid of the current process, if one is running (for tests and logs). */
  pid(): number | undefined;
  close(): Promise<void>;
}

const CLOSE_WAIT_MS = 2000;
/**
 * How long a process may take to start and open the database before it is killed (a wedged
 * start-up) and its waiters answered 503: generous, because a busy machine can take seconds to
 * start Node (more from source, under tsx), and the waiting requests are not timed meanwhile.
 */
export const STARTUP_TIMEOUT_MS = 20_000;

export function createSqliteProcess(opts: SqliteProcessOptions, log: SqliteLog): SqliteProcess {
  const entry = resolveEntry();
  let current: Started | null = null;
  let nextId = 1;
  let closed = false;

  function settleIdle(s: Started): void {
    // An idle process must not keep its thread (or a test runner) alive.
    if (s.pending.size === 0) {
      s.child.unref();
      s.child.channel?.unref();
    } else {
      s.child.ref();
      s.child.channel?.ref();
    }
  }

  function spawn(): Started {
    const child = fork(entry.filename, [JSON.stringify(opts)], {
      execArgv: entry.execArgv,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const s: Started = { child, ready: Promise.resolve(), pending: new Map(), killedFor: null };
    let startup: NodeJS.Timeout | undefined;
    s.ready = new Promise<void>((resolve, reject) => {
      startup = setTimeout(() => {
        log('sqlite process did not start in time', { ms: STARTUP_TIMEOUT_MS });
        stop(s, new SluiceError('DATABASE_UNAVAILABLE', 'The SQLite process did not start in time', { retryAfter: 2 }));
      }, STARTUP_TIMEOUT_MS);
      startup.unref();
      child.on('message', (reply: SqliteReply) => {
        if (reply.type === 'ready') {
          clearTimeout(startup);
          resolve();
          settleIdle(s);
        } else if (reply.type === 'init-failed') {
          log('sqlite process could not open the database', { err: reply.raw });
          reject(SluiceError.fromBody(reply.error));
        } else {
          const p = s.pending.get(reply.id);
          if (!p) return;
          s.pending.delete(reply.id);
          settleIdle(s);
          if (reply.ok) p.resolve(reply.results);
          else {
            if (reply.raw !== undefined && (reply.error.code === 'INTERNAL_ERROR' || reply.error.code === 'DATABASE_UNAVAILABLE')) {
              log('sqlite error', { err: reply.raw });
            }
            p.reject(SluiceError.fromBody(reply.error, { rowDependent: reply.rowDependent === true }));
          }
        }
      });
      child.on('error', (err) => log('sqlite process error', { err: String(err) }));
      child.on('exit', (code, signal) => {
        clearTimeout(startup);
        if (current === s) current = null;
        const reason = s.killedFor ?? new SluiceError('DATABASE_UNAVAILABLE', 'The SQLite process stopped unexpectedly', { retryAfter: 1 });
        if (!s.killedFor && !closed) log('sqlite process exited', { code, signal });
        reject(reason);
        for (const p of s.pending.values()) p.reject(reason);
        s.pending.clear();
      });
    });
    // A start-up failure is reported to whoever waits on `ready`; never unhandled.
    s.ready.catch(() => undefined);
    return s;
  }

  function ensure(): Started {
    if (closed) throw new SluiceError('SHUTTING_DOWN');
    current ??= spawn();
    return current;
  }

  /** SIGKILL `s`; what waits on it rejects with `reason`. */
  function stop(s: Started, reason: SluiceError): void {
    s.killedFor = reason;
    if (current === s) current = null;
    s.child.kill('SIGKILL');
  }

  return {
    async ready() {
      await ensure().ready;
    },
    async request(msg) {
      const s = ensure();
      await s.ready;
      const id = nextId++;
      const full: SqliteRequest = msg.type === 'ping' ? { type: 'ping', id } : { ...msg, id };
      return new Promise<SqliteStatementResult[]>((resolve, reject) => {
        if (s.child.exitCode !== null || s.child.signalCode !== null || s.killedFor) {
          reject(s.killedFor ?? new SluiceError('DATABASE_UNAVAILABLE', undefined, { retryAfter: 1 }));
          return;
        }
        s.pending.set(id, { resolve, reject });
        settleIdle(s);
        s.child.send(full);
      });
    },
    kill(reason) {
      const s = current;
      if (!s) return;
      stop(s, reason);
      // Start the replacement now so the next statement does not wait for it.
      if (!closed) {
        try {
          const next = ensure();
          next.ready.then(
            () => undefined,
            () => {
              if (current === next) current = null;
            },
          );
        } catch {
          // closed meanwhile
        }
      }
    },
    pid: () => current?.child.pid,
    async close() {
      closed = true;
      const s = current;
      current = null;
      if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => s.child.once('exit', () => resolve()));
      s.child.ref();
      if (s.child.connected) s.child.disconnect();
      const timer = setTimeout(() => s.child.kill('SIGKILL'), CLOSE_WAIT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
