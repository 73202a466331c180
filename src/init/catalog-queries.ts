/**
 * The catalog SQL of each dialect, answering CatalogRow columns: schema, table, kind ('table',
 * 'view' or anything else, which is skipped), partition_of, column, generated, primary_key, has_default — one
 * row per column, ordered by schema, table and column position. Trusted SQL with bound schema names.
 */
import type { Dialect } from '../config/types.js';
import type { CatalogQueries } from './catalog.js';

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/**
 * pg_catalog rather than information_schema, which hides tables the connecting user has no
 * privilege on and does not know partitions. Kinds: r/p tables, v/m/f views (read-only).
 */
const postgres: CatalogQueries = {
  defaultSchema: () => ({ sql: 'select current_schema() as schema' }),
  columns: (schemas) => ({
    sql: `select n.nspname as schema, c.relname as table,
        case when c.relkind in ('r', 'p') then 'table' when c.relkind in ('v', 'm', 'f') then 'view' else 'other' end as kind,
        (select p.relname from pg_catalog.pg_inherits h join pg_catalog.pg_class p on p.oid = h.inhparent
          where c.relispartition and h.inhrelid = c.oid limit 1) as partition_of,
        a.attname as column,
        (a.attgenerated <> '' or a.attidentity = 'a') as generated,
        coalesce(a.attnum = any(pk.indkey::int2[]), false) as primary_key,
        (a.atthasdef or a.attidentity <> '') as has_default
      from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      left join pg_catalog.pg_index pk on pk.indrelid = c.oid and pk.indisprimary
      where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f')
      order by n.nspname, c.relname, a.attnum`,
    params: [[...schemas]],
  }),
};

/** MariaDB sequences are tables to information_schema: kind 'other'. */
const mysql: CatalogQueries = {
  defaultSchema: (conn) => conn.schema,
  columns: (schemas) => ({
    sql: `select c.TABLE_SCHEMA as \`schema\`, c.TABLE_NAME as \`table\`,
        case when t.TABLE_TYPE in ('BASE TABLE', 'SYSTEM VERSIONED') then 'table' when t.TABLE_TYPE = 'VIEW' then 'view' else 'other' end as kind,
        null as partition_of,
        c.COLUMN_NAME as \`column\`,
        coalesce(c.GENERATION_EXPRESSION, '') <> '' as \`generated\`,
        c.COLUMN_KEY = 'PRI' as primary_key,
        (c.COLUMN_DEFAULT is not null or c.EXTRA like '%auto_increment%') as has_default
      from information_schema.COLUMNS c
      join information_schema.TABLES t on t.TABLE_SCHEMA = c.TABLE_SCHEMA and t.TABLE_NAME = c.TABLE_NAME
      where c.TABLE_SCHEMA in (${placeholders(schemas.length)})
      order by c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
    params: [...schemas],
  }),
};

/**
 * hidden: 1 a virtual table's hidden column (left out), 2/3 generated (virtual/stored). A lone
 * INTEGER PRIMARY KEY of a rowid table is the rowid: SQLite fills it.
 */
const sqlite: CatalogQueries = {
  defaultSchema: () => 'main',
  columns: () => ({
    sql: `select 'main' as schema, m.name as "table", m.type as kind, null as partition_of,
        p.name as "column", p.hidden in (2, 3) as "generated", p.pk > 0 as primary_key,
        (p.dflt_value is not null or (p.pk = 1 and upper(p.type) = 'INTEGER' and m.sql not like '%without%rowid%'
          and (select count(*) from pragma_table_xinfo(m.name) k where k.pk > 0) = 1)) as has_default
      from sqlite_schema m join pragma_table_xinfo(m.name) p
      where m.type in ('table', 'view') and m.name not like 'sqlite\\_%' escape '\\' and p.hidden <> 1
      order by m.name, p.cid`,
    params: [],
  }),
};

export const CATALOG_QUERIES: Readonly<Record<Dialect, CatalogQueries>> = { postgres, mysql, sqlite };
