export { pgProxy, mysqlProxy, sqliteProxy, type PgProxyCallback, type MysqlProxyCallback, type SqliteProxyCallback, type SqliteProxyBatchCallback, type SqliteMethod } from './callbacks.js';
export { batch } from './batch.js';
export { SluiceError, sluiceError, isSluiceError, CLIENT_CODES, type ClientCode, type SluiceErrorInit } from './errors.js';
export type { SluiceClientOptions, TokenContext, TruncationInfo, TruncationPolicy } from './options.js';
export { isReadStatement } from './read-statement.js';
