/**
 * Type parsing as Drizzle's node-postgres driver expects it: date/time types (and their arrays)
 * stay raw strings so Drizzle's own column mappers see what Postgres sent; int8/numeric stay
 * strings (pg's default); json/jsonb are parsed, unless a value nests deeper than JSON_DEPTH_CAP
 * (see below). Installed per pool, never on the global `pg.types`, which other code in the process
 * may rely on.
 */
import pg from 'pg';
import type { CustomTypesConfig } from 'pg';
import { JSON_DEPTH_CAP, exceedsJsonDepth } from '../../json-depth.js';

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

const JSON_OIDS = [
  114, // json
  3802, // jsonb
  199, // json[]
  3807, // jsonb[]
];

/**
 * A tenant can store (or build in one statement: `select $1::jsonb` from a 10 KB string) a
 * document nested thousands deep, which Postgres accepts; parsed, it would overflow the stack when
 * the rows cross to the host thread (wedging the thread) or are serialized for the response. Such a
 * value is passed on as its JSON text instead: Drizzle's json/jsonb columns parse a string either way.
 */
function boundedJson(parse: (text: string) => unknown): (text: string) => unknown {
  return (text) => {
    const value = parse(text);
    return exceedsJsonDepth(value, JSON_DEPTH_CAP) ? text : value;
  };
}

const jsonParsers = new Map(JSON_OIDS.map((oid) => [oid, boundedJson(pg.types.getTypeParser(oid, 'text'))]));

export const drizzleTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (RAW_OIDS.has(oid)) return raw;
    const json = format === 'binary' ? undefined : jsonParsers.get(oid);
    if (json) return json;
    return pg.types.getTypeParser(oid, format);
  }) as CustomTypesConfig['getTypeParser'],
};
