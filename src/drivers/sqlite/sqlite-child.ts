/**
 * The body of the SQLite process (entry: workers/sqlite-process.ts). It serves one request at a
 * time; the parent kills it (SIGKILL) when a statement outlives its deadline, because neither
 * better-sqlite3 nor ending a worker thread can stop a statement running in native code.
 * It exits by itself when the IPC channel closes (its worker thread or process went away).
 */
import { SluiceError } from '../../errors.js';
import { mapSqliteError, rawSqliteError } from './sqlite-errors.js';
import { openSqliteEngine, type SqliteEngine } from './sqlite-engine.js';
import type { SqliteProcessOptions, SqliteReply, SqliteRequest } from './sqlite-protocol.js';

function send(reply: SqliteReply): void {
  // The parent may be gone already (closed while this process started): nothing to tell then.
  if (process.connected) process.send?.(reply, undefined, undefined, () => undefined);
}

function handle(engine: SqliteEngine, msg: SqliteRequest): SqliteReply {
  try {
    if (msg.type === 'ping') {
      engine.ping();
      return { type: 'result', id: msg.id, ok: true, results: [] };
    }
    return { type: 'result', id: msg.id, ok: true, results: engine.exec(msg) };
  } catch (err) {
    const mapped = mapSqliteError(err);
    const reply: SqliteReply = { type: 'result', id: msg.id, ok: false, error: mapped.toBody(), ...(mapped.rowDependent && { rowDependent: true as const }) };
    if (!(err instanceof SluiceError)) reply.raw = rawSqliteError(err);
    return reply;
  }
}

export function runSqliteProcess(opts: SqliteProcessOptions): void {
  let engine: SqliteEngine;
  try {
    engine = openSqliteEngine(opts);
  } catch (err) {
    const error = mapSqliteError(err);
    const body = error.code === 'INTERNAL_ERROR' ? new SluiceError('DATABASE_UNAVAILABLE', undefined, { retryAfter: 2 }).toBody() : error.toBody();
    send({ type: 'init-failed', error: body, raw: rawSqliteError(err) });
    process.disconnect?.();
    return;
  }
  process.on('message', (msg: SqliteRequest) => send(handle(engine, msg)));
  process.on('disconnect', () => {
    try {
      engine.close();
    } finally {
      process.exit(0);
    }
  });
  send({ type: 'ready' });
}
