/**
 * Two "databases" for tenant-routing tests on one real Postgres: a shared schema and a dedicated
 * one, each with a `notes` table holding different rows (so a test can tell where a statement ran),
 * and optionally one database role per tenant for dbRole templates. Random names, dropped by drop().
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PG_URL } from './services.js';

export interface TenantSchemas {
  admin: pg.Pool;
  shared: string;
  dedicated: string;
  /** Tenant t's role is `${rolePrefix}${t}`. */
  rolePrefix: string;
  drop(): Promise<void>;
}

/** Shared rows: t1-shared, t2-shared, acme-in-shared; dedicated rows: dedicated-1 (acme), dedicated-2. */
export async function createTenantSchemas(opts: { roles?: string[]; grants?: string } = {}): Promise<TenantSchemas> {
  const hex = randomBytes(5).toString('hex');
  const shared = `t_${hex}_shared`;
  const dedicated = `t_${hex}_dedicated`;
  const rolePrefix = `r_${hex}_`;
  const roles = opts.roles ?? [];
  const admin = new pg.Pool({ connectionString: PG_URL, max: 2 });
  await admin.query(`create schema ${shared}; create schema ${dedicated}`);
  for (const s of [shared, dedicated]) {
    // `owner` records the database role a write ran as (dbRole templates).
    await admin.query(`create table ${s}.notes (id serial primary key, tenant_id text not null, body text not null, owner text not null default current_user)`);
  }
  await admin.query(`insert into ${shared}.notes (tenant_id, body) values ('t1', 't1-shared'), ('t2', 't2-shared'), ('acme', 'acme-in-shared')`);
  await admin.query(`insert into ${dedicated}.notes (tenant_id, body) values ('acme', 'dedicated-1'), ('legacy', 'dedicated-2')`);
  for (const t of roles) {
    const role = `${rolePrefix}${t}`;
    await admin.query(`create role ${role} nologin`);
    await admin.query(`grant usage on schema ${shared} to ${role}; grant ${opts.grants ?? 'select'} on ${shared}.notes to ${role}; grant usage on sequence ${shared}.notes_id_seq to ${role}`);
  }
  return {
    admin,
    shared,
    dedicated,
    rolePrefix,
    async drop() {
      await admin.query(`drop schema if exists ${shared} cascade; drop schema if exists ${dedicated} cascade`);
      for (const t of roles) await admin.query(`drop role if exists ${rolePrefix}${t}`);
      await admin.end();
    },
  };
}
