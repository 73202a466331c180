/**
 * sql.literals end to end: Drizzle's proxy drivers through POST /data on Postgres, MariaDB and
 * SQLite. Under `refuse-strings` (the default here) the query builders pass — values are
 * parameters, and so are the gateway's own filter and preset values — while a value written into
 * the SQL text with sql.raw is refused with 400 LITERAL_NOT_ALLOWED naming its kind and position,
 * never its value, and the audit log records the refusal without the value. `refuse` (role
 * "strict") also refuses numbers in the text; `allow` (role "legacy") accepts both.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { and, eq, sql, type SQL } from 'drizzle-orm';
import { int as myInt, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { integer as pgInt, pgTable, serial, text as pgText } from 'drizzle-orm/pg-core';
import { integer as liteInt, sqliteTable, text as liteText } from 'drizzle-orm/sqlite-core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/engine.js';
import { mysqlProxyDb, pgProxyDb, postTo, SluiceAnswerError, sqliteProxyDb } from '../helpers/drizzle-corpus/proxy-clients.js';
import { describeIfMysql, describeIfPg, MYSQL_URL, PG_URL } from '../helpers/services.js';
import { signToken, TEST_JWT_SECRET } from '../helpers/tokens.js';

const SECRET_VALUE = `spliced-${randomBytes(4).toString('hex')}`;

const pgCustomers = pgTable('customers', { id: serial('id').primaryKey(), tenantId: pgInt('tenant_id').notNull(), name: pgText('name').notNull(), kind: pgText('kind').notNull() });
const myCustomers = mysqlTable('customers', { id: myInt('id').autoincrement().primaryKey(), tenantId: myInt('tenant_id').notNull(), name: varchar('name', { length: 100 }).notNull(), kind: varchar('kind', { length: 20 }).notNull() });
const liteCustomers = sqliteTable('customers', { id: liteInt('id').primaryKey({ autoIncrement: true }), tenantId: liteInt('tenant_id').notNull(), name: liteText('name').notNull(), kind: liteText('kind').notNull() });
type Customers = typeof pgCustomers;

// Ids 1..3 of tenant 1 ('web'), 4 of tenant 2; the gateway writes tenant_id and kind itself.
const SEED = "INSERT INTO customers (id, tenant_id, name, kind) VALUES (1, 1, 'Ann', 'web'), (2, 1, 'Bob', 'web'), (3, 1, 'Cid', 'shop'), (4, 2, 'Dee', 'web')";

interface Target {
  connection: unknown;
  close(): Promise<void>;
}

/** A minimal Drizzle surface shared by the three dialects (their builders are alike for these calls). */
interface Db {
  select: (...a: never[]) => any;
  insert: (...a: never[]) => any;
  update: (...a: never[]) => any;
  $count: (...a: never[]) => any;
}

function suite(name: string, describeIf: typeof describe, setup: () => Promise<Target>, table: Customers, makeDb: (url: string, token: string) => Db): void {
  describeIf(`sql.literals through Drizzle's ${name} proxy driver`, () => {
    let target: Target;
    let engine: Engine;
    let url: string;
    let dir: string;
    let auditFile: string;
    const tokens: Record<string, string> = {};
    const db = (role: string): any => makeDb(url, tokens[role]!);

    beforeAll(async () => {
      target = await setup();
      dir = mkdtempSync(join(tmpdir(), 'sluice-literals-'));
      auditFile = join(dir, 'audit.log');
      // A gateway literal in a filter (kind <> 'shop') and in a preset (kind = 'web'): bound as parameters.
      const customers = {
        select: { columns: '*', filter: { tenant_id: '$claims.tenant_id', kind: { ne: 'shop' } } },
        insert: { columns: ['id', 'name'], set: { tenant_id: '$claims.tenant_id', kind: 'web' } },
        update: { columns: ['name'], filter: { tenant_id: '$claims.tenant_id' } },
      };
      engine = createEngine(
        {
          server: { host: '127.0.0.1', port: 0 },
          auth: { jwt: { secret: TEST_JWT_SECRET, algorithms: ['HS256'] } },
          connections: { main: target.connection },
          limits: { rateLimitPerUser: 0, rateLimitPerIP: 0 },
          workers: { threads: 1 },
          logging: { level: 'silent' },
          observability: { audit: { destination: auditFile } },
          sql: { literals: { default: 'refuse-strings', roles: { strict: 'refuse', legacy: 'allow' } } },
          permissions: Object.fromEntries(['member', 'strict', 'legacy'].map((role) => [role, { main: { customers } }])),
        },
        { logger: false },
      );
      url = (await engine.listen({ host: '127.0.0.1', port: 0 })).url;
      for (const role of ['member', 'strict', 'legacy']) tokens[role] = await signToken({ sub: `u-${role}`, role, tenant_id: 1 });
    }, 60_000);

    afterAll(async () => {
      await engine?.close();
      await target?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function refusal(query: PromiseLike<unknown>): Promise<SluiceAnswerError> {
      const err = await Promise.resolve(query).then(
        () => undefined,
        (e: unknown) => (e as { cause?: unknown }).cause ?? e,
      );
      expect(err).toBeInstanceOf(SluiceAnswerError);
      return err as SluiceAnswerError;
    }

    const names = (rows: { name: string }[]): string[] => rows.map((r) => r.name).sort();

    it('refuse-strings: the query builders pass (values are parameters, the gateway\'s own values too)', async () => {
      const d = db('member');
      expect(names(await d.select({ name: table.name }).from(table))).toEqual(['Ann', 'Bob']);
      expect(names(await d.select({ name: table.name }).from(table).where(and(eq(table.name, 'Ann'), sql`lower(${table.name}) = ${'ann'}`)))).toEqual(['Ann']);
      expect(names(await d.select({ name: table.name }).from(table).where(sql`${table.id} > 1`).orderBy(table.id).limit(5).offset(0))).toEqual(['Bob']);
      expect(Number(await d.$count(table))).toBe(2);
      await d.insert(table).values({ id: 10, name: 'Eve' });
      await d.update(table).set({ name: 'Eva' }).where(eq(table.id, 10));
      expect(names(await d.select({ name: table.name }).from(table).where(eq(table.id, 10)))).toEqual(['Eva']);
    });

    it('refuse-strings: a value spliced into the text is refused, naming kind and position, never the value', async () => {
      const query = db('member').select({ name: table.name }).from(table).where(sql`${table.name} = ${sql.raw(`'${SECRET_VALUE}'`)}`);
      const text: string = query.toSQL().sql;
      const err = await refusal(query);
      expect(err.status).toBe(400);
      expect(err.code).toBe('LITERAL_NOT_ALLOWED');
      expect(err.message).toContain(`string literal at character ${text.indexOf("'") + 1}`);
      expect(err.message).not.toContain(SECRET_VALUE);
    });

    it('refuse: numbers in the text are refused too, but 0 and 1 and the builders\' parameters are not', async () => {
      const d = db('strict');
      expect(names(await d.select({ name: table.name }).from(table).where(eq(table.id, 2)).limit(10))).toEqual(['Bob']);
      expect(names(await d.select({ name: table.name }).from(table).where(sql`${table.id} >= 1 and ${table.id} > 0`))).toEqual(['Ann', 'Bob', 'Eva']);
      const err = await refusal(d.select({ name: table.name }).from(table).where(sql`${table.id} > 5`));
      expect(err.code).toBe('LITERAL_NOT_ALLOWED');
      expect(err.message).toContain('an integer literal at character');
      // refuse-strings accepts the same statement.
      expect(names(await db('member').select({ name: table.name }).from(table).where(sql`${table.id} > 5`))).toEqual(['Eva']);
    });

    it('allow: the role\'s mode wins, and the spliced value is accepted', async () => {
      expect(names(await db('legacy').select({ name: table.name }).from(table).where(sql`${table.name} = ${sql.raw("'Ann'")}`))).toEqual(['Ann']);
    });

    it('the audit log records the refusals by code, without the value', async () => {
      await engine.close();
      const raw = readFileSync(auditFile, 'utf8');
      const records = raw.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
      const refused = records.filter((r) => r.verdict === 'LITERAL_NOT_ALLOWED');
      expect(refused.map((r) => [r.role, r.status])).toEqual([['member', 400], ['strict', 400]]);
      expect(raw).not.toContain(SECRET_VALUE);
    });
  });
}

suite(
  'pg',
  describeIfPg,
  async () => {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
    await admin.query(`create schema ${schema}; set search_path to ${schema}; create table customers (id serial primary key, tenant_id int not null, name text not null, kind text not null); ${SEED}`);
    return { connection: { url: PG_URL, max: 2, schema }, close: async () => void (await admin.query(`drop schema ${schema} cascade`), await admin.end()) };
  },
  pgCustomers,
  (url, token) => pgProxyDb(postTo({ url, token, recorded: [] }), {}) as unknown as Db,
);

suite(
  'mysql',
  describeIfMysql,
  async () => {
    const database = `t_${randomBytes(6).toString('hex')}`;
    const admin = await mysql.createConnection({ uri: MYSQL_URL });
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`CREATE TABLE ${database}.customers (id INT AUTO_INCREMENT PRIMARY KEY, tenant_id INT NOT NULL, name VARCHAR(100) NOT NULL, kind VARCHAR(20) NOT NULL)`);
    await admin.query(SEED.replace('INTO customers', `INTO ${database}.customers`));
    const u = new URL(MYSQL_URL);
    u.pathname = `/${database}`;
    return { connection: { url: u.toString(), max: 2 }, close: async () => void (await admin.query(`DROP DATABASE ${database}`), await admin.end()) };
  },
  myCustomers as unknown as Customers,
  (url, token) => mysqlProxyDb(postTo({ url, token, recorded: [] }), {}) as unknown as Db,
);

suite(
  'sqlite',
  describe,
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-literals-db-'));
    const file = join(dir, 'app.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY AUTOINCREMENT, tenant_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL); ${SEED}`);
    db.close();
    return { connection: { dialect: 'sqlite', file }, close: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  liteCustomers as unknown as Customers,
  (url, token) => sqliteProxyDb({ url, token, recorded: [] }, {}) as unknown as Db,
);
