/** The dialect switch for drivers: the only place the pool layer learns which drivers exist. */
import type { ConnectionConfig } from '../config/types.js';
import { SluiceError } from '../errors.js';
import type { Driver } from '../drivers/driver.js';
import { createPgDriver } from '../drivers/pg/pg-driver.js';
import { createPgPinger, type Pinger } from '../drivers/pg/pg-pinger.js';
import type { ThreadLog } from './thread-log.js';

export function createDriver(conn: ConnectionConfig, log: ThreadLog): Driver {
  switch (conn.dialect) {
    case 'postgres':
      return createPgDriver(conn, log);
    default:
      throw new SluiceError('UNKNOWN_CONNECTION', `Dialect "${conn.dialect}" is not supported`);
  }
}

export function createPinger(conn: ConnectionConfig, log: ThreadLog): Pinger {
  switch (conn.dialect) {
    case 'postgres':
      return createPgPinger(conn, log);
    default:
      throw new SluiceError('UNKNOWN_CONNECTION', `Dialect "${conn.dialect}" is not supported`);
  }
}
