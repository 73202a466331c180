/**
 * Config keys for read replicas and connection lifecycle (Postgres and MySQL): validated like the
 * primary URL, never echoed, unset keys left out of the normalized config (the drivers apply the
 * defaults), and a normalized config parses to itself.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { configErrorOf, withConnection } from '../helpers/config-error.js';

const connectionOf = (main: unknown): Record<string, unknown> => parseConfig(withConnection(main)).connections.main as unknown as Record<string, unknown>;

const errorOf = (main: unknown): string => configErrorOf(withConnection(main));

describe('connections: replicas and lifecycle keys', () => {
  it('accepts them on Postgres and keeps exactly what was set', () => {
    const c = connectionOf({
      url: 'postgres://app@primary/app',
      replicas: ['postgres://ro@replica-1/app', 'postgresql://ro@replica-2/app?sslmode=require'],
      replicaReads: 'overflow',
      replicaUtilization: '0.5',
      maxUses: 7500,
      maxLifetimeMs: '1800000',
      validateAfterIdleMs: 0,
    });
    expect(c).toMatchObject({
      replicas: ['postgres://ro@replica-1/app', 'postgresql://ro@replica-2/app?sslmode=require'],
      replicaReads: 'overflow',
      replicaUtilization: 0.5,
      maxUses: 7500,
      maxLifetimeMs: 1_800_000,
      validateAfterIdleMs: 0,
    });
  });

  it('leaves unset keys out (the drivers apply the defaults), and an empty replicas list means none', () => {
    for (const key of ['replicas', 'replicaReads', 'replicaUtilization', 'maxUses', 'maxLifetimeMs', 'validateAfterIdleMs']) {
      expect(connectionOf({ url: 'postgres://a@h/db', replicas: [] })).not.toHaveProperty(key);
      expect(connectionOf('mysql://a@h/db')).not.toHaveProperty(key);
    }
  });

  it('accepts them on MySQL when each replica names the same database', () => {
    expect(connectionOf({ url: 'mysql://app@primary/shop', replicas: ['mariadb://ro@replica/shop?ssl=true'], maxUses: 10 })).toMatchObject({
      replicas: ['mariadb://ro@replica/shop?ssl=true'],
      maxUses: 10,
    });
  });

  it('is idempotent: a normalized connection with every key parses to itself', () => {
    for (const main of [
      { url: 'postgres://a@h/db', replicas: ['postgres://b@r/db'], replicaReads: 'always', replicaUtilization: 1, maxUses: 3, maxLifetimeMs: 10, validateAfterIdleMs: 5 },
      { url: 'mysql://a@h/db', replicas: ['mysql://b@r/db'], replicaUtilization: 0, maxLifetimeMs: 60_000 },
    ]) {
      const c = parseConfig(withConnection(main));
      expect(parseConfig(structuredClone(c))).toEqual(c);
    }
  });

  it.each([
    ['a replica of another dialect', { url: 'postgres://a@h/db', replicas: ['mysql://a@h/db'] }, 'connections.main.replicas[0]: must be a postgres:// or postgresql:// URL'],
    ['a replica that is not a URL', { url: 'mysql://a@h/db', replicas: ['replica.example'] }, 'connections.main.replicas[0]: must be a mysql:// or mariadb:// URL'],
    ['a MySQL replica of another database', { url: 'mysql://a@h/db', replicas: ['mysql://a@r/other'] }, 'connections.main.replicas[0]: must name the same database as url ("db")'],
    ['connection options in a MySQL replica URL', { url: 'mysql://a@h/db', replicas: ['mysql://a@r/db?multipleStatements=true'] }, 'connections.main.replicas[0]: may only carry ssl'],
    ['replicaReads without replicas', { url: 'postgres://a@h/db', replicaReads: 'always' }, 'connections.main.replicaReads: needs a non-empty replicas list'],
    ['replicaUtilization without replicas', { url: 'mysql://a@h/db', replicaUtilization: 0.5 }, 'connections.main.replicaUtilization: needs a non-empty replicas list'],
    ['an unknown replicaReads', { url: 'postgres://a@h/db', replicas: ['postgres://r/db'], replicaReads: 'sometimes' }, 'connections.main.replicaReads'],
    ['a replicaUtilization above 1', { url: 'postgres://a@h/db', replicas: ['postgres://r/db'], replicaUtilization: 1.5 }, 'connections.main.replicaUtilization'],
    ['a negative maxUses', { url: 'postgres://a@h/db', maxUses: -1 }, 'connections.main.maxUses'],
    ['a fractional maxLifetimeMs', { url: 'mysql://a@h/db', maxLifetimeMs: 1.5 }, 'connections.main.maxLifetimeMs'],
    ['validateAfterIdleMs as words', { url: 'postgres://a@h/db', validateAfterIdleMs: 'soon' }, 'connections.main.validateAfterIdleMs'],
    ['replicas on SQLite', { dialect: 'sqlite', file: './x.db', replicas: ['sqlite:./y.db'] }, 'connections.main.replicas: unknown key'],
    ['maxUses on SQLite', { dialect: 'sqlite', file: './x.db', maxUses: 5 }, 'connections.main.maxUses: unknown key'],
  ])('refuses %s, naming the key', (_name, main, message) => {
    expect(errorOf(main)).toContain(message);
  });

  it('never echoes a replica URL (it usually carries a password)', () => {
    expect(errorOf({ url: 'postgres://a@h/db', replicas: ['mysql://u:hunter2@r/db'] })).not.toContain('hunter2');
    expect(errorOf({ url: 'mysql://a@h/db', replicas: ['mysql://u:hunter2@r/other'] })).not.toContain('hunter2');
    expect(errorOf({ url: 'mysql://a@h/db', replicas: ['mysql://u:hunter2@r/db?x=1'] })).not.toContain('hunter2');
  });
});
