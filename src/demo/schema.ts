/**
 * The demo's tables. Kept as a TypeScript string rather than a .sql file so `tsc` ships it in
 * dist/ without a copy step. Idempotent: safe to run on every start.
 */
export const DEMO_SCHEMA = 'sluice_demo';

export const DEMO_SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS ${DEMO_SCHEMA};
CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.customers (
  id serial PRIMARY KEY,
  tenant_id int NOT NULL,
  name text NOT NULL,
  email text,
  secret_note text
);
CREATE TABLE IF NOT EXISTS ${DEMO_SCHEMA}.orders (
  id serial PRIMARY KEY,
  tenant_id int NOT NULL,
  customer_id int REFERENCES ${DEMO_SCHEMA}.customers(id),
  total numeric(10,2) NOT NULL,
  created_at timestamptz DEFAULT now()
);
`;

/** Two tenants, so a tenant-1 token visibly cannot see tenant 2's rows. Runs only on empty tables. */
export const DEMO_SEED_SQL = `
INSERT INTO ${DEMO_SCHEMA}.customers (tenant_id, name, email, secret_note) VALUES
  (1, 'Ada Lovelace', 'ada@one.example', 'tenant 1 only: never selectable'),
  (1, 'Charles Babbage', 'charles@one.example', 'tenant 1 only'),
  (2, 'Grace Hopper', 'grace@two.example', 'tenant 2 only'),
  (2, 'Alan Turing', 'alan@two.example', 'tenant 2 only');
INSERT INTO ${DEMO_SCHEMA}.orders (tenant_id, customer_id, total)
  SELECT c.tenant_id, c.id, v.total
  FROM ${DEMO_SCHEMA}.customers c
  CROSS JOIN (VALUES (19.99), (120.00)) AS v(total);
`;
