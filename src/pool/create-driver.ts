/** The dialect switch for drivers: the only place the pool layer learns which drivers exist. */
import type { ConnectionConfig, Dialect, ReadReplicas } from '../config/types.js';
import { SluiceError } from '../errors.js';
import type { Pinger } from '../drivers/common/pinger.js';
import type { Driver } from '../drivers/driver.js';
import { REPLICA_DEFAULTS, withReplicas } from '../drivers/common/replica-driver.js';
import { createMysqlDriver } from '../drivers/mysql/mysql-driver.js';
import { createMysqlPinger } from '../drivers/mysql/mysql-pinger.js';
import { createPgDriver } from '../drivers/pg/pg-driver.js';
import { createPgPinger } from '../drivers/pg/pg-pinger.js';
import { createSqliteDriver } from '../drivers/sqlite/sqlite-driver.js';
import { createSqlitePinger } from '../drivers/sqlite/sqlite-pinger.js';
import { checkMethod, METHODS_BY_DIALECT } from './messages.js';
import type { DetailLog } from '../observability/log.js';

export type { Pinger };
export { METHODS_BY_DIALECT };

/** Refuses a method the dialect does not serve before any driver sees it. */
function withMethodCheck(dialect: Dialect, driver: Driver): Driver {
  return {
    async execute(req) {
      checkMethod(dialect, req.method);
      return driver.execute(req);
    },
    async executeBatch(req) {
      for (const s of req.statements) checkMethod(dialect, s.method);
      return driver.executeBatch(req);
    },
    cancel: (jobId) => driver.cancel(jobId),
    stats: () => driver.stats(),
    ping: () => driver.ping(),
    close: () => driver.close(),
  };
}

/** The primary and one driver per replica URL (same settings, own pools), behind the replica router. */
function replicated<C extends ConnectionConfig & ReadReplicas>(conn: C, create: (c: C) => Driver, log: DetailLog): Driver {
  const { replicas = [], replicaReads, replicaUtilization, ...primary } = conn;
  const routing = { reads: replicaReads ?? REPLICA_DEFAULTS.reads, utilization: replicaUtilization ?? REPLICA_DEFAULTS.utilization };
  return withReplicas(create(primary as C), replicas.map((url) => create({ ...primary, url } as C)), routing, log);
}

function createDialectDriver(conn: ConnectionConfig, log: DetailLog): Driver {
  switch (conn.dialect) {
    case 'postgres':
      return replicated(conn, (c) => createPgDriver(c, log), log);
    case 'mysql':
      return replicated(conn, (c) => createMysqlDriver(c, log), log);
    case 'sqlite':
      return createSqliteDriver(conn, log);
  }
}

export function createDriver(conn: ConnectionConfig, log: DetailLog): Driver {
  return withMethodCheck(conn.dialect, createDialectDriver(conn, log));
}

export function createPinger(conn: ConnectionConfig, log: DetailLog): Pinger {
  switch (conn.dialect) {
    case 'postgres':
      return createPgPinger(conn, log);
    case 'mysql':
      return createMysqlPinger(conn, log);
    case 'sqlite':
      return createSqlitePinger(conn);
  }
}
