/**
 * Every mysql2 pool sluice opens is built here, so the safety settings cannot be forgotten: no
 * LOAD DATA LOCAL (the client capability is switched off), no multiple statements, utf8mb4, and
 * values typed as Drizzle's mysql drivers expect them: dates and DECIMAL as strings, BIGINT as a
 * number while it is exact and as a string beyond 2^53 (mysql2's supportBigNumbers).
 */
import mysql from 'mysql2/promise';
import type { MysqlConnectionConfig } from '../../config/types.js';
import { tlsOf } from '../common/tls-options.js';

export type MysqlLog = (msg: string, details: Record<string, unknown>) => void;

/** mysql2 closes idle connections after this when the config says 0 ("keep"): the server's own wait_timeout would cut them anyway. */
const DEFAULT_IDLE_MS = 60_000;

export function createMysqlPool(conn: MysqlConnectionConfig, max: number, log: MysqlLog): mysql.Pool {
  const { url, tls } = tlsOf(conn.url);
  const pool = mysql.createPool({
    uri: url,
    // mysql2 checks the host name only with verifyIdentity; the URL keeps no TLS parameter.
    ...(tls && { ssl: { rejectUnauthorized: tls.rejectUnauthorized, verifyIdentity: tls.checkHostname, ca: tls.ca, cert: tls.cert, key: tls.key } }),
    connectionLimit: max,
    maxIdle: max,
    idleTimeout: conn.idleTimeoutMs > 0 ? conn.idleTimeoutMs : DEFAULT_IDLE_MS,
    // The lease gate in front bounds waiting; the pool itself never queues.
    waitForConnections: true,
    queueLimit: 0,
    connectTimeout: conn.connectionTimeoutMs,
    enableKeepAlive: true,
    multipleStatements: false,
    // conn.end() then closes with COM_QUIT (recycled and idle-expired connections), not a bare
    // socket close the server logs as an aborted connection.
    gracefulEnd: true,
    flags: ['-LOCAL_FILES'],
    charset: 'UTF8MB4_UNICODE_CI',
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    decimalNumbers: false,
    // Measured hot spots (bench/drivers-mysql.ts, docs/benchmarks.md): `trace` captures a stack
    // trace for every command; mysql2's client-side prepared-statement cache (never used: sluice
    // runs text queries, and the reset drops server-side statements) is an array of 16 000 slots
    // that every COM_RESET_CONNECTION clears element by element.
    trace: false,
    maxPreparedStatements: 1,
  });
  // mysql2 removes a pool connection on its first 'error' itself; a second one must not crash us.
  pool.on('connection', (c) => {
    (c as unknown as NodeJS.EventEmitter).on('error', (err: unknown) => log('mysql connection failed', { err: String(err) }));
  });
  return pool;
}
