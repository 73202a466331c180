/**
 * The audit log: one structured record per /data and /jobs request, built from an allowlist of
 * fields of the request context, so a token, a parameter value or a row can never reach it (the
 * SQL text is logged separately, at debug level, by the /data route). Where it goes is
 * observability.audit.destination: the main pino logger (default), stdout, stderr, a file
 * (appended, flushed on close) or nowhere. Fields: docs/observability.md.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import pino from 'pino';
import type { AuditDestination } from '../config/observability-schema.js';
import { ERRORS } from '../errors.js';
import { settleWithin } from '../timeouts.js';
import { elapsedSinceStart, onClientGone } from './client-gone.js';
import { logsAt } from './log.js';

const CLOSE_WAIT_MS = 5000;

export interface AuditLog {
  /** Writes the request's record; callers go through auditRequest (exactly once per request). */
  write(request: FastifyRequest, status: number, elapsedMs: number): void;
  /** Flushes and closes a file or stream destination. Idempotent. */
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    auditLog: AuditLog;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? 'unmatched';
}

/** The message of a record: "data request" / "jobs request" (what log searches already use). */
export function auditMessage(request: FastifyRequest): string {
  return routeOf(request).startsWith('/jobs') ? 'jobs request' : 'data request';
}

/** The record's fields. Only these: nothing from the body but the connection name the route chose. */
export function auditRecord(request: FastifyRequest, status: number, elapsedMs: number): Record<string, unknown> {
  const c = request.sluice ?? {};
  const verdict = c.verdict ?? (status < 400 ? 'ok' : 'error');
  const params = request.params as { id?: unknown } | undefined;
  const jobId = c.jobId ?? (typeof params?.id === 'string' ? params.id : undefined);
  return {
    route: `${request.method} ${routeOf(request)}`,
    ip: request.ip,
    user: c.principal?.user,
    tenant: c.principal?.tenant,
    role: c.principal?.role,
    connection: c.connection,
    jobId,
    tables: c.tables,
    verdict,
    reason: verdict === 'ok' ? undefined : verdict,
    rows: c.rows,
    ...c.timings,
    totalMs: round(elapsedMs),
    status,
  };
}

/** Write the request's audit record unless it was written already (the client-gone path writes early). */
export function auditRequest(request: FastifyRequest, status: number, elapsedMs: number): void {
  const c = request.sluice;
  if (!c || c.logged) return;
  c.logged = true;
  (request.server.auditLog ?? MAIN_LOGGER_AUDIT).write(request, status, elapsedMs);
}

/**
 * For routes whose handler does not watch the client itself (/jobs): if the client goes away
 * first, write the record then, as CLIENT_CLOSED. A POST /jobs aborted mid-submission may then
 * lack its jobId.
 */
export function auditIfClientGone(request: FastifyRequest, reply: FastifyReply): void {
  onClientGone(reply, () => {
    const c = request.sluice;
    if (c && c.verdict === undefined) c.verdict = 'CLIENT_CLOSED';
    auditRequest(request, ERRORS.CLIENT_CLOSED.status, elapsedSinceStart(request));
  });
}

/** The default: the request's own pino logger, which already carries reqId. A record below its level is not built. */
const MAIN_LOGGER_AUDIT: AuditLog = {
  write(request, status, elapsedMs) {
    if (logsAt(request.log, 'info')) request.log.info(auditRecord(request, status, elapsedMs), auditMessage(request));
  },
  close: async () => undefined,
};

const OFF: AuditLog = { write: () => undefined, close: async () => undefined };

/**
 * Open a file destination now, so a path sluice cannot write stops start-up (naming the path)
 * instead of losing records. The engine calls it before it starts any thread.
 */
export function checkAuditDestination(destination: AuditDestination): void {
  if (['log', 'off', 'stdout', 'stderr'].includes(destination)) return;
  try {
    mkdirSync(dirname(resolve(destination)), { recursive: true });
    closeSync(openSync(destination, 'a'));
  } catch (e) {
    throw new Error(`observability.audit.destination: cannot write ${destination}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/**
 * `onError`: a write failing later (disk full, file removed) — records are then lost, so it is
 * reported to the main logger rather than crashing the gateway.
 */
export function createAuditLog(destination: AuditDestination, onError: (err: unknown) => void): AuditLog {
  if (destination === 'log') return MAIN_LOGGER_AUDIT;
  if (destination === 'off') return OFF;
  const dest = destination === 'stdout' ? 1 : destination === 'stderr' ? 2 : destination;
  checkAuditDestination(destination);
  // Asynchronous writes keep the request path off the disk; close() flushes what is buffered.
  const stream = pino.destination({ dest, sync: false, append: true, mkdir: true });
  stream.on('error', onError);
  // Audit records are written whatever logging.level is: the operator asked for them explicitly.
  const logger = pino({ level: 'info', timestamp: pino.stdTimeFunctions.isoTime }, stream);
  let closing: Promise<void> | undefined;
  return {
    write(request, status, elapsedMs) {
      if (closing) return;
      logger.info({ reqId: request.id, ...auditRecord(request, status, elapsedMs) }, auditMessage(request));
    },
    close() {
      closing ??= settleWithin(
        new Promise<void>((done) => {
          stream.once('close', () => done());
          stream.end();
        }),
        CLOSE_WAIT_MS,
      ).then(() => undefined);
      return closing;
    },
  };
}
