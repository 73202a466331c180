/**
 * MySQL and MariaDB differ in how a statement gets a server-side time limit: MariaDB's
 * `max_statement_time` (seconds) applies to every statement; MySQL's `max_execution_time` (ms)
 * only to read-only SELECTs, so writes there rely on KILL QUERY at the deadline.
 */
export interface MysqlFlavor {
  name: 'mariadb' | 'mysql';
  /** The SET assignment for a `ms` time limit. */
  timeoutAssignment(ms: number): string;
  /** Whether the server enforces that limit for this statement by itself. */
  enforcesTimeout(readOnly: boolean): boolean;
  /** The SET assignment that makes the session's next transactions (autocommit ones too) read-only. */
  readOnlyAssignment: string;
  /**
   * MariaDB's `SET STATEMENT <assignments> FOR <statement>`: settings for one statement only, in the
   * statement's own round trip; the server restores the session's values when it ends. null (MySQL):
   * no such form covers every setting a lease needs, so its leases always SET them first.
   */
  statementSettings: { timeout(ms: number): string; readOnly: string } | null;
}

const mariadbTimeout = (ms: number): string => `max_statement_time = ${(Math.max(1, Math.floor(ms)) / 1000).toFixed(3)}`;

const MARIADB: MysqlFlavor = {
  name: 'mariadb',
  timeoutAssignment: (ms) => `SESSION ${mariadbTimeout(ms)}`,
  enforcesTimeout: () => true,
  readOnlyAssignment: 'SESSION tx_read_only = 1',
  statementSettings: { timeout: mariadbTimeout, readOnly: 'tx_read_only = 1' },
};

const MYSQL: MysqlFlavor = {
  name: 'mysql',
  timeoutAssignment: (ms) => `SESSION max_execution_time = ${Math.max(1, Math.floor(ms))}`,
  enforcesTimeout: (readOnly) => readOnly,
  readOnlyAssignment: 'SESSION transaction_read_only = 1',
  statementSettings: null,
};

export function flavorOf(version: string): MysqlFlavor {
  return /mariadb/i.test(version) ? MARIADB : MYSQL;
}
