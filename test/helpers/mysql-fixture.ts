/**
 * A fresh MariaDB/MySQL database per suite (t_<random>) with the two-tenant tables of the Postgres
 * fixture (same ids, names and markers), an admin connection to inspect it, and the gateway's own
 * sessions found by that database name — so a fault test only ever kills its own sessions.
 */
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { MYSQL_URL } from './services.js';

const DDL = [
  'CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, name VARCHAR(100) NOT NULL, email VARCHAR(100) UNIQUE, secret_note TEXT)',
  `CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, customer_id INT NOT NULL, total DECIMAL(10,2) NOT NULL,
     status VARCHAR(20) NOT NULL DEFAULT 'open', FOREIGN KEY (customer_id) REFERENCES customers(id))`,
  'CREATE TABLE order_items (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, order_id INT, sku VARCHAR(40), qty INT)',
  `INSERT INTO customers (id, tenant_id, name, email, secret_note) VALUES
     (1, 1, 'T1 Alice', 'alice@t1.example', 'SECRET-T1-alice'), (2, 2, 'T2 Bob', 'bob@t2.example', 'SECRET-T2-bob'),
     (3, 1, 'T1 Carol', 'carol@t1.example', 'SECRET-T1-carol'), (4, 2, 'T2 Dan', 'dan@t2.example', 'SECRET-T2-dan'),
     (5, 1, 'T1 Erin', 'erin@t1.example', NULL), (6, 2, 'T2 Fay', 'fay@t2.example', 'SECRET-T2-fay')`,
  `INSERT INTO orders (id, tenant_id, customer_id, total, status) VALUES
     (1, 1, 1, 10.50, 'open'), (2, 2, 2, 2000.00, 'T2-shipped'), (3, 1, 3, 20.00, 'shipped')`,
  `INSERT INTO order_items (id, tenant_id, order_id, sku, qty) VALUES
     (1, 1, 1, 'T1-SKU-A', 1), (2, 1, 1, 'T1-SKU-B', 2), (3, 2, 2, 'T2-SKU-X', 7), (4, 1, 3, 'T1-SKU-C', 3)`,
  // As in the Postgres fixture: rows the tests insert get ids above 100.
  'ALTER TABLE customers AUTO_INCREMENT = 101',
  'ALTER TABLE orders AUTO_INCREMENT = 101',
  'ALTER TABLE order_items AUTO_INCREMENT = 101',
];

export interface GatewaySession {
  id: number;
  command: string;
  state: string | null;
  info: string | null;
}

export interface MysqlFixture {
  readonly database: string;
  /** The server URL with this database as the default: what the gateway's connection uses. */
  readonly url: string;
  readonly admin: mysql.Connection;
  /** A second connection of the test's own, e.g. to hold a lock while `admin` inspects. */
  connect(): Promise<mysql.Connection>;
  /** Sessions (other than the test's) whose default database is this one and whose statement matches `like`. */
  sessions(like?: string): Promise<GatewaySession[]>;
  count(sql: string, params?: unknown[]): Promise<number>;
  drop(): Promise<void>;
}

export async function createMysqlFixture(): Promise<MysqlFixture> {
  const database = `t_${randomBytes(6).toString('hex')}`;
  const u = new URL(MYSQL_URL);
  u.pathname = `/${database}`;
  const url = u.toString();
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.query(`USE ${database}`);
  for (const stmt of DDL) await admin.query(stmt);
  // The admin session itself must not count as the gateway's: it leaves the database.
  await admin.query('USE test');
  const own = new Set<number>([admin.threadId]);
  const extra: mysql.Connection[] = [];
  return {
    database,
    url,
    admin,
    async connect() {
      const c = await mysql.createConnection({ uri: MYSQL_URL });
      own.add(c.threadId);
      extra.push(c);
      return c;
    },
    async sessions(like = '%') {
      const [rows] = await admin.query(
        'SELECT id, command, state, info FROM information_schema.processlist WHERE db = ? AND (info IS NULL OR info LIKE ?)',
        [database, like],
      );
      return (rows as Array<{ id: number; command: string; state: string | null; info: string | null }>)
        .filter((r) => !own.has(Number(r.id)) && (like === '%' || r.info !== null))
        .map((r) => ({ id: Number(r.id), command: r.command, state: r.state, info: r.info }));
    },
    async count(sql, params = []) {
      const [rows] = await admin.query(sql, params);
      return Number((rows as Array<{ n: number }>)[0]!.n);
    },
    async drop() {
      for (const c of extra) await c.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      await admin.end();
    },
  };
}
