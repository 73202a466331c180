/**
 * The demo's tables in the embedded SQLite file: the same two-tenant shape as the Postgres demo
 * (schema.ts). TypeScript strings so `tsc` ships them in dist/ without a copy step. Idempotent.
 */
export const DEMO_SQLITE_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS customers (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  email TEXT UNIQUE,
  secret_note TEXT
);
CREATE TABLE IF NOT EXISTS orders (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL,
  customer_id INTEGER REFERENCES customers(id),
  total NUMERIC NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS customers_tenant ON customers(tenant_id);
CREATE INDEX IF NOT EXISTS orders_tenant ON orders(tenant_id);
`;

export const DEMO_SQLITE_IS_EMPTY_SQL = 'SELECT count(*) AS n FROM customers';

/** Two tenants, so a tenant-1 token visibly cannot see tenant 2's rows. */
export const DEMO_SQLITE_SEED_SQL = `
INSERT INTO customers (tenant_id, name, email, secret_note) VALUES
  (1, 'Ada Lovelace', 'ada@one.example', 'tenant 1 only: never selectable'),
  (1, 'Charles Babbage', 'charles@one.example', 'tenant 1 only'),
  (2, 'Grace Hopper', 'grace@two.example', 'tenant 2 only'),
  (2, 'Alan Turing', 'alan@two.example', 'tenant 2 only');
INSERT INTO orders (tenant_id, customer_id, total)
  SELECT c.tenant_id, c.id, v.total
  FROM customers c
  CROSS JOIN (SELECT 19.99 AS total UNION ALL SELECT 120.00) AS v;
`;
