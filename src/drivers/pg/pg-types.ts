/**
 * Type parsing as Drizzle's node-postgres driver expects it: date/time types (and their arrays)
 * stay raw strings so Drizzle's own column mappers see what Postgres sent; int8/numeric stay
 * strings (pg's default); json/jsonb are parsed. Installed per pool, never on the global
 * `pg.types`, which other code in the process may rely on.
 */
import pg from 'pg';
import type { CustomTypesConfig } from 'pg';

const RAW_OIDS = new Set([
  1082, // date
  1114, // timestamp
  1184, // timestamptz
  1186, // interval
  1182, // date[]
  1115, // timestamp[]
  1185, // timestamptz[]
  1187, // interval[]
  1231, // numeric[]
]);

const raw = (value: string): string => value;

export const drizzleTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (RAW_OIDS.has(oid)) return raw;
    return pg.types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};
