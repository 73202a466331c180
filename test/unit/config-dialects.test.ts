import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { configErrorOf, withConnection } from '../helpers/config-error.js';

const connectionOf = (main: unknown): unknown => parseConfig(withConnection(main)).connections.main;

const errorOf = (main: unknown): string => configErrorOf(withConnection(main));

const mysqlDefaults = { dialect: 'mysql', max: 10, idleTimeoutMs: 0, connectionTimeoutMs: 5000, tenantClaim: 'tenant_id' };
const sqliteDefaults = { dialect: 'sqlite', schema: 'main', max: 1, busyTimeoutMs: 5000 };

describe('connections: MySQL/MariaDB', () => {
  it.each([
    ['mysql://app:pw@127.0.0.1:3306/shop', 'shop'],
    ['mariadb://app@db/shop', 'shop'],
  ])('derives the dialect and the default schema from %s', (url, schema) => {
    expect(connectionOf(url)).toEqual({ ...mysqlDefaults, url, schema });
  });

  it('accepts the object form with an explicit dialect', () => {
    expect(connectionOf({ dialect: 'mysql', url: 'mysql://a@h/db', max: 3, tenantClaim: 'org.id' })).toEqual({
      ...mysqlDefaults, url: 'mysql://a@h/db', schema: 'db', max: 3, tenantClaim: 'org.id',
    });
  });

  it('is idempotent: a normalized mysql connection parses to itself', () => {
    const c = parseConfig(withConnection({ url: 'mysql://a@h/db', max: 2 }));
    expect(parseConfig(structuredClone(c))).toEqual(c);
  });

  it.each([
    ['a URL without a database', 'mysql://a@h', 'connections.main.url: must name the database'],
    ['a URL whose database needs quoting', 'mysql://a@h/my-db', 'connections.main.url: must name the database'],
    ['connection options in the URL', 'mysql://a@h/db?multipleStatements=true', 'connections.main.url: may only carry ssl, sslmode, sslrootcert, sslcert, sslkey as query parameters'],
    ['a dialect that disagrees with the URL', { dialect: 'mysql', url: 'postgres://a@h/db' }, 'connections.main.url: must be a mysql:// or mariadb:// URL'],
    ['a schema other than the URL database', { url: 'mysql://a@h/db', schema: 'other' }, 'connections.main.schema: must be the URL\'s database ("db")'],
    ['dbRole (Postgres only)', { url: 'mysql://a@h/db', dbRole: 'r' }, 'connections.main.dbRole: unknown key'],
    ['a bad tenant claim path', { url: 'mysql://a@h/db', tenantClaim: 'a..b' }, 'connections.main.tenantClaim'],
  ])('refuses %s, naming the key', (_name, main, message) => {
    expect(errorOf(main)).toContain(message);
  });

  it('never echoes the password', () => {
    expect(errorOf('mysql://u:hunter2@h/db?multipleStatements=true')).not.toContain('hunter2');
  });
});

describe('connections: SQLite', () => {
  it.each([
    ['./data/app.db', resolve('data/app.db')],
    ['data/app.db', resolve('data/app.db')],
    ['/var/lib/app.db', '/var/lib/app.db'],
    ['sqlite:./data/app.db', resolve('data/app.db')],
    ['sqlite:///var/lib/app.db', '/var/lib/app.db'],
  ])('reads %s as a SQLite file', (spec, file) => {
    expect(connectionOf(spec)).toEqual({ ...sqliteDefaults, file });
  });

  it('accepts { dialect: "sqlite", file } and { url: "sqlite:…" } with options', () => {
    expect(connectionOf({ dialect: 'sqlite', file: 'x.db', busyTimeoutMs: 250 })).toEqual({ ...sqliteDefaults, file: resolve('x.db'), busyTimeoutMs: 250 });
    expect(connectionOf({ url: 'sqlite:y.db' })).toEqual({ ...sqliteDefaults, file: resolve('y.db') });
  });

  it('is idempotent: a normalized sqlite connection parses to itself', () => {
    const c = parseConfig(withConnection('./data/app.db'));
    expect(parseConfig(structuredClone(c))).toEqual(c);
  });

  it.each([
    ['an in-memory database', ':memory:', 'connections.main.file: must be a database file path'],
    ['an empty sqlite: URL', 'sqlite:', 'connections.main.file: must be a database file path'],
    ['more than one connection per thread', { dialect: 'sqlite', file: 'x.db', max: 4 }, 'connections.main.max'],
    ['network keys', { dialect: 'sqlite', file: 'x.db', url: 'mysql://h/d' }, 'connections.main.url: unknown key'],
    ['a schema other than main', { dialect: 'sqlite', file: 'x.db', schema: 'public' }, 'connections.main.schema'],
  ])('refuses %s, naming the key', (_name, main, message) => {
    expect(errorOf(main)).toContain(message);
  });
});

describe('connections: dialect detection', () => {
  it('keeps postgres URLs as before', () => {
    expect(connectionOf('postgresql://a@b/c')).toMatchObject({ dialect: 'postgres', schema: 'public' });
  });

  it.each([
    ['an unknown scheme', 'mongodb://a@b/c', 'connections.main.url: must be a postgres://, postgresql://, mysql://, mariadb:// or sqlite: URL, or a SQLite file path'],
    ['an unknown dialect', { dialect: 'oracle', url: 'x' }, 'connections.main.dialect: must be one of postgres, mysql, sqlite'],
    ['an object without url or dialect', { max: 3 }, 'connections.main.url: is required'],
    ['a number', 42, 'connections.main: must be a connection URL, a SQLite file path or an object'],
  ])('refuses %s', (_name, main, message) => {
    expect(errorOf(main)).toContain(message);
  });

  it('mixes dialects in one config, keeping order', () => {
    const c = parseConfig({ ...withConnection('./a.db'), connections: { lite: './a.db', my: 'mysql://a@h/db', pg: 'postgres://a@h/db' } });
    expect(Object.entries(c.connections).map(([k, v]) => [k, v.dialect])).toEqual([['lite', 'sqlite'], ['my', 'mysql'], ['pg', 'postgres']]);
  });
});
