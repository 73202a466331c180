/**
 * `sluice init --from-database` on real Postgres, MariaDB and SQLite: the CLI reads a fresh schema
 * (database, file) and writes a YAML config; that file loads as written, with only the database URL
 * and the JWT secret from the environment, and a gateway started from it behaves as its comments
 * say — rows filtered to the token's tenant, the tenant column preset on insert and never writable,
 * primary keys the database fills never inserted, a view read-only, and the table without a tenant
 * column left out (and listed in a comment that can be uncommented in place).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { createEngine, type Engine } from '../../src/engine.js';
import { startCli } from '../helpers/cli-process.js';
import { describeIfMysql, describeIfPg, MYSQL_URL, PG_URL } from '../helpers/services.js';
import { post, type PostResult } from '../helpers/sluice-harness.js';
import { signToken } from '../helpers/tokens.js';

const JWT_SECRET = `init-test-${randomBytes(16).toString('hex')}`;
/** Postgres on this machine trusts local connections: a password in the URL is accepted and ignored. */
const PASSWORD = `pw${randomBytes(6).toString('hex')}`;

interface Fixture {
  /** `--from-database` (may carry PASSWORD). */
  from: string;
  /** Extra init arguments (Postgres: --schema). */
  args: string[];
  /** DATABASE_URL when the gateway starts ('' for SQLite: the file is in the config). */
  env: string;
  placeholder: (n: number) => string;
  drop(): Promise<void>;
}

/** customers (serial id, a generated column), notes (a client-chosen key), countries (no tenant), a view. */
const DDL = {
  postgres: [
    'create table customers (id serial primary key, tenant_id int not null, name text not null, shout text generated always as (upper(name)) stored)',
    'create table notes (id text primary key, tenant_id int not null, body text)',
    'create table countries (code text primary key, name text not null)',
    'create view customer_names as select id, tenant_id, name from customers',
  ],
  mysql: [
    'create table customers (id int auto_increment primary key, tenant_id int not null, name varchar(100) not null, shout varchar(100) as (upper(name)) stored)',
    'create table notes (id varchar(20) primary key, tenant_id int not null, body text)',
    'create table countries (code varchar(2) primary key, name varchar(100) not null)',
    'create view customer_names as select id, tenant_id, name from customers',
  ],
  sqlite: [
    'create table customers (id integer primary key, tenant_id int not null, name text not null, shout text generated always as (upper(name)) stored)',
    'create table notes (id text primary key, tenant_id int not null, body text)',
    'create table countries (code text primary key, name text not null)',
    'create view customer_names as select id, tenant_id, name from customers',
  ],
};
const SEED = [
  "insert into customers (id, tenant_id, name) values (1, 1, 'T1 Alice'), (2, 2, 'T2 Bob'), (3, 1, 'T1 Carol')",
  "insert into countries (code, name) values ('fr', 'France')",
];

async function postgresFixture(): Promise<Fixture> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}; set search_path = ${schema}; ${[...DDL.postgres, ...SEED].join(';')}`);
  await admin.query(`select setval('${schema}.customers_id_seq', 100)`);
  const from = new URL(PG_URL);
  from.password = PASSWORD;
  return {
    from: from.toString(),
    args: ['--schema', schema],
    env: PG_URL,
    placeholder: (n) => `$${n}`,
    drop: async () => {
      await admin.query(`drop schema if exists ${schema} cascade`);
      await admin.end();
    },
  };
}

async function mysqlFixture(): Promise<Fixture> {
  const database = `t_${randomBytes(6).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_URL, multipleStatements: true });
  await admin.query(`create database ${database}; use ${database}; ${[...DDL.mysql, ...SEED, 'alter table customers auto_increment = 101'].join(';')}`);
  const url = new URL(MYSQL_URL);
  url.pathname = `/${database}`;
  return {
    from: url.toString(),
    args: [],
    env: url.toString(),
    placeholder: () => '?',
    drop: async () => {
      await admin.query(`drop database if exists ${database}`);
      await admin.end();
    },
  };
}

async function sqliteFixture(dir: string): Promise<Fixture> {
  const file = join(dir, 'app.db');
  const db = new Database(file);
  db.exec([...DDL.sqlite, ...SEED].join(';'));
  db.close();
  return { from: file, args: [], env: '', placeholder: () => '?', drop: async () => undefined };
}

function initSuite(name: string, describeIt: typeof describe, fixture: (dir: string) => Promise<Fixture>): void {
  describeIt(`sluice init --from-database (${name})`, () => {
    let dir: string;
    let f: Fixture;
    let file: string;
    let yaml: string;
    let initOutput: string;
    let engine: Engine;
    let url: string;
    const tenant1 = signToken({ sub: 'u1', role: 'member', tenant_id: 1 }, { secret: JWT_SECRET });
    const tenant2 = signToken({ sub: 'u2', role: 'member', tenant_id: 2 }, { secret: JWT_SECRET });
    // `all` everywhere: rows as arrays, the one shape every dialect answers alike (writes only check the status).
    const data = async (token: Promise<string>, sql: string, params: unknown[] = []): Promise<PostResult> =>
      post(url, await token, { sql, params, method: 'all' });
    const rowsOf = (r: PostResult): unknown[][] => {
      expect(r.status, r.text).toBe(200);
      return (r.body as { rows: unknown[][] }).rows;
    };
    const codeOf = (r: PostResult): string => (r.body as { error: { code: string } }).error.code;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sluice-init-'));
      f = await fixture(dir);
      file = join(dir, 'sluice.yaml');
      const cli = startCli(['init', '--from-database', f.from, ...f.args, '--out', file]);
      expect(await cli.exited, cli.output()).toBe(0);
      initOutput = cli.output();
      yaml = readFileSync(file, 'utf8');
      // Loaded exactly as written; the environment supplies what the file refers to.
      const config = loadConfigFile(file, { DATABASE_URL: f.env, JWT_SECRET });
      engine = createEngine({ ...config, workers: { ...config.workers, threads: 1 }, logging: { level: 'silent' } }, { logger: false });
      ({ url } = await engine.listen({ host: '127.0.0.1', port: 0 }));
    }, 60_000);

    afterAll(async () => {
      await engine?.close();
      await f?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('writes no secret, says what it did, and never overwrites a file', async () => {
      expect(initOutput).toContain(`wrote ${file}: 3 table(s) scoped by tenant_id, 1 left out`);
      expect(yaml).not.toContain(PASSWORD);
      expect(yaml).not.toContain(JWT_SECRET);
      expect(yaml).toContain('secret: ${JWT_SECRET}');
      if (f.env !== '') expect(yaml).toContain('url: "${DATABASE_URL}"');
      const again = startCli(['init', '--from-database', f.from, ...f.args, '--out', file]);
      expect(await again.exited).toBe(2);
      expect(again.output()).toContain(`${file} exists; sluice init never overwrites a file`);
      expect(readFileSync(file, 'utf8')).toBe(yaml);
    });

    it('filters every read to the token\'s tenant, on tables and views', async () => {
      expect(rowsOf(await data(tenant1, 'select id, tenant_id, name, shout from customers order by id'))).toEqual([
        [1, 1, 'T1 Alice', 'T1 ALICE'],
        [3, 1, 'T1 Carol', 'T1 CAROL'],
      ]);
      expect(rowsOf(await data(tenant2, 'select name from customer_names order by id'))).toEqual([['T2 Bob']]);
      expect(rowsOf(await data(tenant2, `select name from customers where id = ${f.placeholder(1)}`, [1]))).toEqual([]);
    });

    it('presets the tenant column on insert and never lets the client write it', async () => {
      const p = f.placeholder;
      expect((await data(tenant2, `insert into customers (name) values (${p(1)})`, ['T2 New'])).status).toBe(200);
      expect(rowsOf(await data(tenant2, `select tenant_id, name from customers where name = ${p(1)}`, ['T2 New']))).toEqual([[2, 'T2 New']]);
      expect(rowsOf(await data(tenant1, `select name from customers where name = ${p(1)}`, ['T2 New']))).toEqual([]);
      const forged = await data(tenant2, `insert into customers (tenant_id, name) values (${p(1)}, ${p(2)})`, [1, 'forged']);
      expect(forged.status).toBe(403);
      expect(codeOf(forged)).toBe('PRESET_COLUMN');
      // The database fills the id (a chosen one could collide with another tenant's row and say it exists).
      expect((await data(tenant2, `insert into customers (id, name) values (${p(1)}, ${p(2)})`, [1, 'collide'])).status).toBe(403);
      // A key the database does not fill is the client's to choose.
      expect((await data(tenant1, `insert into notes (id, body) values (${p(1)}, ${p(2)})`, ['n1', 'hello'])).status).toBe(200);
      expect(rowsOf(await data(tenant1, 'select id, tenant_id, body from notes'))).toEqual([['n1', 1, 'hello']]);
      expect(rowsOf(await data(tenant2, 'select id from notes'))).toEqual([]);
    });

    it('updates and deletes only the tenant\'s rows, never moving one to another tenant', async () => {
      const p = f.placeholder;
      expect((await data(tenant1, `update customers set tenant_id = ${p(1)} where id = ${p(2)}`, [2, 1])).status).toBe(403);
      expect((await data(tenant1, `update customers set shout = ${p(1)}`, ['x'])).status).toBe(403);
      expect((await data(tenant1, `update customers set name = ${p(1)} where id = ${p(2)}`, ['stolen', 2])).status).toBe(200);
      expect(rowsOf(await data(tenant2, `select name from customers where id = ${p(1)}`, [2]))).toEqual([['T2 Bob']]);
      expect((await data(tenant1, 'delete from customers')).status).toBe(200);
      expect(rowsOf(await data(tenant1, 'select id from customers'))).toEqual([]);
      expect(rowsOf(await data(tenant2, 'select name from customers order by id'))).toEqual([['T2 Bob'], ['T2 New']]);
    });

    it('leaves the view read-only and the table without a tenant column out, with a comment', async () => {
      const p = f.placeholder;
      expect((await data(tenant1, `insert into customer_names (name) values (${p(1)})`, ['x'])).status).toBe(403);
      const countries = await data(tenant1, 'select code from countries');
      expect(countries.status).toBe(403);
      expect(codeOf(countries)).toBe('TABLE_NOT_ALLOWED');
      expect(yaml).toContain('# a view: read-only');
      expect(yaml).toMatch(/# Left out: no tenant_id column, so no row filter can keep tenants apart/);
      // The listed line is a permission entry once uncommented in place.
      const line = yaml.split('\n').find((l) => l.trim().startsWith('# countries:'))!;
      expect(line.trim()).toBe('# countries: {select: {columns: [code, name]}}');
      const uncommented = parseYaml(yaml.replace(line, line.replace('# ', ''))) as { permissions: { member: { main: Record<string, unknown> } } };
      expect(uncommented.permissions.member.main.countries).toEqual({ select: { columns: ['code', 'name'] } });
      expect(existsSync(file)).toBe(true);
    });
  });
}

const pgSuite = describeIfPg as typeof describe;
initSuite('Postgres', pgSuite, () => postgresFixture());
initSuite('MariaDB', describeIfMysql as typeof describe, () => mysqlFixture());
initSuite('SQLite', describe, (dir) => sqliteFixture(dir));
