import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { interpolateEnv } from '../../src/config/interpolate.js';
import { loadConfigFile } from '../../src/config/load.js';
import { parseConfig } from '../../src/config/schema.js';
import { configErrorOf } from '../helpers/config-error.js';

const SECRET = 'a-secret-that-is-at-least-32-chars-long';
const base = (): any => ({
  auth: { jwt: { secret: SECRET, algorithms: ['HS256'] } },
  connections: { main: 'postgres://app@127.0.0.1:5432/app' },
});

const errorOf = configErrorOf;

function withChange(change: (c: any) => void): any {
  const c = base();
  change(c);
  return c;
}

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('parseConfig', () => {
  it('applies every default', () => {
    const c = parseConfig(base());
    expect(c.server).toEqual({ host: '127.0.0.1', port: 8080, bodyLimit: 1048576, trustProxy: false, drainDelayMs: 0, requestTimeoutMs: 30000 });
    expect(c.auth.claims).toEqual({ role: 'role', tenant: 'tenant_id', user: 'sub' });
    expect(c.auth.jwt).toEqual({ secret: SECRET, algorithms: ['HS256'], clockTolerance: 5, cacheSize: 10_000 });
    expect(c.connections.main).toEqual({
      dialect: 'postgres', url: 'postgres://app@127.0.0.1:5432/app', max: 10, schema: 'public', idleTimeoutMs: 0, connectionTimeoutMs: 5000,
    });
    expect(c.limits).toEqual({
      queryTimeout: 30000, rateLimitPerUser: 200, rateLimitPerIP: 500, maxRows: 10000, maxResponseBytes: 32 * 1024 * 1024, maxRelationDepth: 4, maxFilterNesting: 8, maxSqlLength: 100000, maxParams: 10000, maxJsonDepth: 64,
      maxSqlTokens: 50000, maxSqlNodes: 60000, maxSetOperations: 50, maxTableReferences: 128, maxValueGrowth: 1024, maxPatternLength: 100, maxPadLength: 4096,
    });
    expect(c.workers.threads).toBeGreaterThanOrEqual(1);
    expect(c.workers.threads).toBeLessThanOrEqual(4);
    expect(c.queue).toEqual({ maxWaiting: 1000, maxWaitMs: 10000, prefix: 'sluice', resultTtlMs: 3_600_000, maxStoredJobs: 10_000, maxStoredJobsPerTenant: 500, maxStoredJobsPerUser: 100, lockDurationMs: 10_000 });
    expect(c.sql).toEqual({ allowFunctions: [], allowTypes: [], cacheSize: 1000 });
    expect(c.logging).toEqual({ level: 'info' });
    expect(c.permissions).toEqual({});
  });

  it('deep-freezes the result', () => {
    const c = parseConfig(base());
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.connections.main)).toBe(true);
    expect(Object.isFrozen(c.auth.jwt.algorithms)).toBe(true);
  });

  it('is idempotent: a normalized config parses to itself', () => {
    const c = parseConfig({ ...base(), connections: { main: { url: 'postgresql://a@b/c', dbRole: 'app_user', max: 3 } } });
    expect(parseConfig(structuredClone(c))).toEqual(c);
  });

  it('keeps connection order (the first is the default)', () => {
    const c = parseConfig({ ...base(), connections: { zeta: 'postgres://a@b/z', alpha: 'postgres://a@b/a' } });
    expect(Object.keys(c.connections)).toEqual(['zeta', 'alpha']);
  });

  it('accepts numeric strings (from ${VAR} interpolation) for numbers', () => {
    expect(parseConfig(withChange((c) => (c.server = { port: '9000', trustProxy: 'true' }))).server).toMatchObject({ port: 9000, trustProxy: true });
  });

  it('accepts a public key with asymmetric algorithms', () => {
    const c = parseConfig(withChange((c) => (c.auth.jwt = { publicKey: rsaPem, algorithms: ['RS256', 'PS256'], issuer: 'me', audience: 'you' })));
    expect(c.auth.jwt).toMatchObject({ publicKey: rsaPem, issuer: 'me', audience: 'you' });
    parseConfig(withChange((c) => (c.auth.jwt = { publicKey: ecPem, algorithms: ['ES256'] })));
    parseConfig(withChange((c) => (c.auth.jwt = { jwksUrl: 'https://id.example/.well-known/jwks.json', algorithms: ['RS256'] })));
  });

  it.each<[string, (c: any) => void, string]>([
    ['none algorithm', (c) => (c.auth.jwt.algorithms = ['none']), 'config error at auth.jwt.algorithms[0]: "none" is not allowed'],
    ['None algorithm', (c) => (c.auth.jwt.algorithms = ['HS256', 'None']), 'auth.jwt.algorithms[1]: "none" is not allowed'],
    ['unknown algorithm', (c) => (c.auth.jwt.algorithms = ['HS1']), 'auth.jwt.algorithms[0]: "HS1" is not a supported algorithm'],
    ['empty algorithms', (c) => (c.auth.jwt.algorithms = []), 'auth.jwt.algorithms'],
    ['asymmetric with secret', (c) => (c.auth.jwt.algorithms = ['RS256']), 'auth.jwt.algorithms[0]: "RS256" needs auth.jwt.publicKey'],
    ['HS with public key', (c) => (c.auth.jwt = { publicKey: rsaPem, algorithms: ['HS256'] }), 'auth.jwt.algorithms[0]: "HS256" needs auth.jwt.secret'],
    ['key type mismatch', (c) => (c.auth.jwt = { publicKey: rsaPem, algorithms: ['ES256'] }), 'auth.jwt.algorithms[0]: "ES256" cannot be verified'],
    ['bad PEM', (c) => (c.auth.jwt = { publicKey: 'nope', algorithms: ['RS256'] }), 'auth.jwt.publicKey: is not a PEM public key'],
    ['short secret', (c) => (c.auth.jwt.secret = 'short'), 'auth.jwt.secret: must be at least 32 characters'],
    ['two key sources', (c) => (c.auth.jwt.jwksUrl = 'https://x.example/jwks'), 'auth.jwt.jwksUrl: set exactly one of secret, publicKey or jwksUrl'],
    ['no key source', (c) => delete c.auth.jwt.secret, 'auth.jwt: set exactly one of secret, publicKey or jwksUrl'],
    ['plain http JWKS', (c) => (c.auth.jwt = { jwksUrl: 'http://id.example/jwks', algorithms: ['RS256'] }), 'auth.jwt.jwksUrl: must be https://'],
    ['unknown key', (c) => (c.server = { prot: 1 }), 'config error at server.prot: unknown key'],
    ['unknown top-level key', (c) => (c.limit = {}), 'config error at limit: unknown key'],
    ['unknown jwt key', (c) => (c.auth.jwt.algorithm = 'HS256'), 'auth.jwt.algorithm: unknown key'],
    ['missing auth', (c) => delete c.auth, 'config error at auth: is required'],
    ['no connections', (c) => (c.connections = {}), 'connections: define at least one connection'],
    ['unknown url scheme', (c) => (c.connections.main = 'mongodb://a@b/c'), 'connections.main.url: must be a postgres://, postgresql://, mysql://, mariadb:// or sqlite: URL, or a SQLite file path'],
    ['bad connection key', (c) => (c.connections.main = { url: 'postgres://a@b/c', pool: 3 }), 'connections.main.pool: unknown key'],
    ['zero max', (c) => (c.connections.main = { url: 'postgres://a@b/c', max: 0 }), 'connections.main.max'],
    ['bad port', (c) => (c.server = { port: 70000 }), 'server.port'],
    ['negative limit', (c) => (c.limits = { rateLimitPerUser: -1 }), 'limits.rateLimitPerUser'],
    // Above 256 MiB the HTTP thread could meet a response it cannot serialize (V8's string limit).
    ['a response cap beyond 256 MiB', (c) => (c.limits = { maxResponseBytes: 256 * 1024 * 1024 + 1 }), 'limits.maxResponseBytes'],
    ['a response cap under 1 KiB', (c) => (c.limits = { maxResponseBytes: 1000 }), 'limits.maxResponseBytes'],
    ['bad log level', (c) => (c.logging = { level: 'loud' }), 'logging.level'],
  ])('refuses %s, naming the key', (_name, change, message) => {
    expect(errorOf(withChange(change))).toContain(message);
  });

  it('does not echo connection URLs (they carry passwords)', () => {
    expect(errorOf(withChange((c) => (c.connections.main = 'mongodb://u:hunter2@b/c')))).not.toContain('hunter2');
  });

  it('refuses a non-object config', () => {
    expect(errorOf(undefined)).toBe('config error: the config must be an object');
  });
});

describe('permissions validation', () => {
  const perms = (tables: unknown, conn = 'main'): any => withChange((c) => (c.permissions = { member: { [conn]: tables } }));

  it('accepts the documented shape', () => {
    const c = parseConfig(
      perms({
        customers: {
          select: { columns: ['id', 'tenant_id', 'name'], filter: { tenant_id: '$claims.tenant_id' } },
          insert: { columns: ['name'], set: { tenant_id: '$claims.tenant_id' } },
          update: { columns: ['name'], filter: { tenant_id: '$claims.tenant_id' } },
          delete: { filter: { tenant_id: '$claims.tenant_id' } },
        },
        'sales.orders': {
          select: { columns: '*', filter: { or: [{ owner: '$claims.sub' }, { public: true }], amount: { gte: 0, lt: 100 }, region: { in: '$claims.org.regions' } } },
        },
      }),
    );
    expect(c.permissions.member!.main!['sales.orders']!.select!.columns).toBe('*');
    expect(c.permissions.member!.main!.customers!.insert!.set).toEqual({ tenant_id: '$claims.tenant_id' });
  });

  it('allows an empty role', () => {
    expect(parseConfig(withChange((c) => (c.permissions = { guest: {} }))).permissions).toEqual({ guest: {} });
  });

  it.each<[string, unknown, string]>([
    ['unknown connection', { t: {} }, 'permissions.member.nope: no connection named "nope"'],
  ])('refuses %s', (_n, tables, message) => {
    expect(errorOf(perms(tables, 'nope'))).toContain(message);
  });

  it.each<[string, unknown, string]>([
    ['an operation typo', { t: { selct: { columns: '*' } } }, 'permissions.member.main.t.selct: unknown key'],
    ['a bad table key', { 'a.b.c': {} }, 'permissions.member.main["a.b.c"]'],
    ['empty columns', { t: { select: { columns: [] } } }, 'permissions.member.main.t.select.columns: must be "*" or a non-empty list'],
    ['a bad column', { t: { select: { columns: ['id', 'x;drop'] } } }, 'permissions.member.main.t.select.columns[1]: must be a column name'],
    ['a duplicate column', { t: { select: { columns: ['id', 'id'] } } }, 'select.columns[1]: "id" is listed twice'],
    ['missing columns', { t: { select: {} } }, 'permissions.member.main.t.select.columns: is required'],
    ['a bad claim ref', { t: { select: { columns: '*', filter: { tenant_id: '$claim.tenant_id' } } } }, 'select.filter.tenant_id: "$claim.tenant_id" is not a claim reference'],
    ['an unknown operator', { t: { select: { columns: '*', filter: { a: { like: 'x' } } } } }, 'select.filter.a.like: unknown operator "like"'],
    ['an empty filter', { t: { delete: { filter: {} } } }, 'delete.filter: a filter needs at least one condition'],
    ['a bare list', { t: { select: { columns: '*', filter: { a: [1, 2] } } } }, 'select.filter.a: a column condition is'],
    ['a nested bad filter', { t: { select: { columns: '*', filter: { or: [{ a: 1 }, { 'b c': 1 }] } } } }, 'select.filter.or[1]["b c"]: "b c" is not a column name'],
    ['an empty or', { t: { select: { columns: '*', filter: { or: [] } } } }, 'select.filter.or: "or" takes a non-empty list'],
    ['a literal in-string', { t: { select: { columns: '*', filter: { a: { in: 'x' } } } } }, 'select.filter.a.in'],
    ['an object preset', { t: { insert: { columns: ['a'], set: { b: { eq: 1 } } } } }, 'insert.set.b: must be a string'],
    ['a preset also insertable', { t: { insert: { columns: ['a', 'tenant_id'], set: { tenant_id: 1 } } } }, 'insert.set.tenant_id: "tenant_id" is preset'],
    ['delete columns', { t: { delete: { columns: '*' } } }, 'permissions.member.main.t.delete.columns: unknown key'],
  ])('refuses %s, naming the key', (_n, tables, message) => {
    expect(errorOf(perms(tables))).toContain(message);
  });

  // Each of these, taken as literal text, would filter every row against the text itself (or preset
  // it for every tenant): no error, just a wrong gateway. They stop start-up instead.
  it.each<[string, (v: string) => unknown, string]>([
    ['a filter value', (v) => ({ t: { select: { columns: '*', filter: { tenant_id: v } } } }), 'select.filter.tenant_id'],
    ['an operator value', (v) => ({ t: { update: { columns: ['a'], filter: { tenant_id: { eq: v } } } } }), 'update.filter.tenant_id.eq'],
    ['an in list item', (v) => ({ t: { delete: { filter: { org: { in: [1, v] } } } } }), 'delete.filter.org.in[1]'],
    ['a nested filter value', (v) => ({ t: { select: { columns: '*', filter: { or: [{ a: 1 }, { tenant_id: v }] } } } }), 'select.filter.or[1].tenant_id'],
    ['a preset', (v) => ({ t: { insert: { columns: ['a'], set: { tenant_id: v } } } }), 'insert.set.tenant_id'],
  ])('refuses a mistyped claim reference in %s', (_n, tables, key) => {
    for (const typo of ['claims.tenant_id', 'Claims.tenant_id', 'claim.tenant_id', 'claims[tenant_id]', '{tenant_id}', '{{claims.tenant_id}}', ':claims.tenant_id', 'jwt.claims.tenant_id', 'request.jwt.claims.tenant_id', 'claims.https://app.example/tenant']) {
      expect(errorOf(perms(tables(typo)))).toContain(`${key}: ${JSON.stringify(typo)} looks like a claim reference but would be compared as literal text; write "$claims.<path>"`);
    }
    for (const typo of [' $claims.tenant_id', '$claims.tenant_id ', '$Claims.tenant_id', '$claims']) {
      expect(errorOf(perms(tables(typo)))).toContain(`${key}: ${JSON.stringify(typo)} is not a claim reference`);
    }
  });

  it('keeps literals that only resemble a claim reference in part', () => {
    for (const literal of ['claims', 'claimsx.y', 'acme', 'https://app.example/tenant', 'org.claims', 'a {b}', '', '{}', '{a,b}']) {
      const c = parseConfig(perms({ t: { select: { columns: '*', filter: { tag: literal } }, insert: { columns: ['a'], set: { tag: literal } } } }));
      expect(c.permissions.member!.main!.t!.select!.filter).toEqual({ tag: literal });
      expect(c.permissions.member!.main!.t!.insert!.set).toEqual({ tag: literal });
    }
  });
});

describe('auth: defaultRole, issuer and audience lists', () => {
  const withAuth = (auth: Record<string, unknown>, jwt: Record<string, unknown> = {}): any =>
    withChange((c) => {
      Object.assign(c.auth, auth);
      Object.assign(c.auth.jwt, jwt);
      c.permissions = { member: {}, admin: {} };
    });

  it('accepts a defaultRole that names a role in permissions, and keeps it', () => {
    expect(parseConfig(withAuth({ defaultRole: 'member' })).auth.defaultRole).toBe('member');
    expect(parseConfig(withAuth({})).auth).not.toHaveProperty('defaultRole');
  });

  it('refuses a defaultRole with no permissions, or empty', () => {
    expect(errorOf(withAuth({ defaultRole: 'membr' }))).toContain('auth.defaultRole: no role named "membr" in permissions');
    expect(errorOf(withAuth({ defaultRole: '' }))).toContain('auth.defaultRole');
  });

  it('refuses a "$claims." spelling where auth.claims wants the claim name', () => {
    expect(errorOf(withAuth({ claims: { role: '$claims.role' } }))).toContain('auth.claims.role: is the claim\'s name as the token spells it (e.g. tenant_id), without "$claims."');
    expect(errorOf(withAuth({ claims: { tenant: '$claims.tenant_id' } }))).toContain('auth.claims.tenant: is the claim\'s name');
  });

  it('accepts issuer and audience as one value or a list, and keeps what was written', () => {
    const c = parseConfig(withAuth({}, { issuer: ['https://a.example/', 'https://b.example/'], audience: ['api', 'https://a.example/userinfo'] }));
    expect(c.auth.jwt).toMatchObject({ issuer: ['https://a.example/', 'https://b.example/'], audience: ['api', 'https://a.example/userinfo'] });
    expect(parseConfig(withAuth({}, { issuer: 'https://a.example/', audience: 'api' })).auth.jwt).toMatchObject({ issuer: 'https://a.example/', audience: 'api' });
    expect(parseConfig(structuredClone(c))).toEqual(c);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an empty issuer list', { issuer: [] }, 'auth.jwt.issuer: must be a non-empty string or a non-empty list of them (the token\'s "iss")'],
    ['an empty issuer', { issuer: '' }, 'auth.jwt.issuer: must be a non-empty string'],
    ['an empty audience in a list', { audience: ['api', ''] }, 'auth.jwt.audience[1]: must be a non-empty string'],
    ['a repeated audience', { audience: ['api', 'api'] }, 'auth.jwt.audience[1]: "api" is listed twice'],
    ['a number', { audience: 5 }, 'auth.jwt.audience: must be a non-empty string or a non-empty list of them (the token\'s "aud")'],
  ])('refuses %s', (_n, jwt, message) => {
    expect(errorOf(withAuth({}, jwt))).toContain(message);
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  const write = (name: string, text: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads YAML and interpolates ${VAR} and ${VAR:-default}', () => {
    const path = write(
      'c.yaml',
      ['auth:', '  jwt:', '    secret: ${JWT_SECRET}', '    algorithms: [HS256]', 'connections:', '  main: postgres://app:${DB_PASS}@db:5432/app', 'server:', '  port: ${PORT:-9001}', '  host: "$${literal}"'].join('\n'),
    );
    const c = loadConfigFile(path, { JWT_SECRET: SECRET, DB_PASS: 'pw' });
    expect(c.auth.jwt.secret).toBe(SECRET);
    expect(c.connections.main).toMatchObject({ dialect: 'postgres', url: 'postgres://app:pw@db:5432/app' });
    expect(c.server.port).toBe(9001);
    expect(c.server.host).toBe('${literal}');
    expect(loadConfigFile(path, { JWT_SECRET: SECRET, DB_PASS: 'pw', PORT: '7000' }).server.port).toBe(7000);
  });

  it('reads JSON (and .yml)', () => {
    expect(loadConfigFile(write('c.json', JSON.stringify(base())), {}).server.port).toBe(8080);
    expect(loadConfigFile(write('c.yml', JSON.stringify(base())), {}).server.port).toBe(8080);
  });

  it('names an unset variable and the key that uses it', () => {
    const path = write('unset.json', JSON.stringify(withChange((c) => (c.auth.jwt.secret = '${MISSING_SECRET}'))));
    expect(() => loadConfigFile(path, {})).toThrow('config error at auth.jwt.secret: environment variable MISSING_SECRET is not set');
  });

  describe('${file:…} secrets', () => {
    const withSecret = (ref: string): string => JSON.stringify(withChange((c) => (c.auth.jwt.secret = ref)));
    const secretOf = (configName: string, ref: string): string | undefined => loadConfigFile(write(configName, withSecret(ref)), {}).auth.jwt.secret;

    it('reads the file, removing trailing line breaks only (LF and CRLF), never re-scanning what it read', () => {
      const value = `${'s'.repeat(30)} \${NOT_A_VAR}`;
      write('jwt-lf', `${value}\n`);
      write('jwt-crlf', `${value}\r\n\r\n`);
      write('jwt-bare', value);
      expect(secretOf('f1.json', `\${file:${join(dir, 'jwt-lf')}}`)).toBe(value);
      expect(secretOf('f2.json', `\${file:${join(dir, 'jwt-crlf')}}`)).toBe(value);
      expect(secretOf('f3.json', `\${file:${join(dir, 'jwt-bare')}}`)).toBe(value);
    });

    it('keeps line breaks inside the file (a PEM key) and mixes with text and ${VAR}', () => {
      const pem = `-----BEGIN PUBLIC KEY-----\n${'A'.repeat(40)}\n-----END PUBLIC KEY-----`;
      write('key.pem', `${pem}\n`);
      write('db-password', 's3cret\n');
      const path = write(
        'mixed.json',
        JSON.stringify(withChange((c) => (c.connections.main = `postgres://app:\${file:${join(dir, 'db-password')}}@\${DB_HOST}:5432/app`))),
      );
      expect(loadConfigFile(path, { DB_HOST: 'db' }).connections.main).toMatchObject({ url: 'postgres://app:s3cret@db:5432/app' });
      expect(interpolateEnv({ k: `\${file:${join(dir, 'key.pem')}}` }, {})).toEqual({ k: pem });
    });

    it('resolves a relative path against the config file, not the working directory', () => {
      const sub = join(dir, 'etc');
      mkdirSync(join(sub, 'secrets'), { recursive: true });
      writeFileSync(join(sub, 'secrets', 'jwt'), `${SECRET}\n`);
      const path = join(sub, 'relative.json');
      writeFileSync(path, withSecret('${file:secrets/jwt}'));
      expect(loadConfigFile(path, {}).auth.jwt.secret).toBe(SECRET);
    });

    it('$${file:…} is a literal', () => {
      expect(interpolateEnv('$${file:/x}', {})).toBe('${file:/x}');
    });

    it.each([
      ['a missing file', () => join(dir, 'nope', 'jwt'), 'does not exist'],
      ['a directory', () => dir, 'is a directory'],
      ['an empty file', () => write('empty-secret', '\n'), 'is empty'],
      ['a file over 1 MiB', () => write('huge-secret', 'x'.repeat(1024 * 1024 + 1)), 'is larger than 1048576 bytes'],
    ])('refuses %s, naming the key and the file (never a value)', (_n, file, why) => {
      const target = file();
      const path = write('bad-secret.json', withSecret(`\${file:${target}}`));
      expect(() => loadConfigFile(path, {})).toThrow(`config error at auth.jwt.secret: secret file ${target} ${why} (referenced as \${file:${target}})`);
    });

    it('refuses an empty path', () => {
      expect(() => interpolateEnv({ a: { b: '${file:}' } }, {})).toThrow('config error at a.b: ${file:} needs a file path');
    });
  });

  it('reports unreadable files, bad syntax and unknown extensions as ConfigError', () => {
    expect(() => loadConfigFile(join(dir, 'absent.json'), {})).toThrow(ConfigError);
    expect(() => loadConfigFile(write('bad.json', '{'), {})).toThrow(/not valid JSON/);
    expect(() => loadConfigFile(write('c.toml', ''), {})).toThrow(/\.json, \.yaml or \.yml/);
  });
});
