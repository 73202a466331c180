/**
 * One log shape for every process and thread: pino JSON lines on stdout (level, time, pid,
 * hostname, msg), at `logging.level`, with the same redaction. The main thread's Fastify logger is
 * built from loggerOptions(); worker threads, `sluice worker` and the piscina host use
 * createLogger(), which writes synchronously so a thread that is terminated loses no line.
 */
import { pino, type Logger, type LoggerOptions } from 'pino';

/** pino's method shape (details first): a pino or Fastify logger is one as it is. */
export interface Log {
  error(details: Record<string, unknown>, msg: string): void;
  warn(details: Record<string, unknown>, msg: string): void;
  info(details: Record<string, unknown>, msg: string): void;
  debug(details: Record<string, unknown>, msg: string): void;
}

/** What the drivers report through: their events are all warnings (a connection failed, a cancel went unanswered, the raw error behind a 503). */
export type DetailLog = (msg: string, details: Record<string, unknown>) => void;

/** Belt and braces: no logger prints a token, even if a header object reaches it. */
const REDACT = ['req.headers.authorization', 'headers.authorization'];

export function loggerOptions(level: string): LoggerOptions {
  return { level, redact: REDACT };
}

/** A logger of its own on stdout; `bindings` are on every line (a worker thread's threadId). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  const logger = pino(loggerOptions(level), pino.destination({ dest: 1, sync: true }));
  return Object.keys(bindings).length === 0 ? logger : logger.child(bindings);
}

/**
 * Whether `log` writes lines of `level`, so a caller can skip building the details of a line that
 * would be dropped. A request's logger is pino (it says) or Fastify's no-op logger when logging is
 * off (it has no isLevelEnabled, and writes nothing).
 */
export function logsAt(log: object, level: 'debug' | 'info'): boolean {
  const enabled = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof enabled === 'function' && enabled.call(log, level);
}

export const silentLog: Log = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

/** For code built before its logger exists (the engine's queue, built before the Fastify app). */
export function deferredLog(current: () => Log | undefined): Log {
  return {
    error: (d, m) => current()?.error(d, m),
    warn: (d, m) => current()?.warn(d, m),
    info: (d, m) => current()?.info(d, m),
    debug: (d, m) => current()?.debug(d, m),
  };
}

export function driverWarnings(log: Log): DetailLog {
  return (msg, details) => log.warn(details, msg);
}
