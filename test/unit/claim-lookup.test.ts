/**
 * One claim lookup everywhere (src/auth/claim-lookup.ts): namespaced keys are read whole, nested
 * keys by their dotted path, and a token that spells one reference two ways is refused — by the
 * principal, the row filters and presets of every dialect, dbRole templates and MySQL's tenant
 * variable alike.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ambiguousClaim, readClaim } from '../../src/auth/claim-lookup.js';
import { toPrincipal } from '../../src/auth/principal.js';
import { parseConfig } from '../../src/config/schema.js';
import { tenantOf } from '../../src/drivers/mysql/mysql-lease.js';
import { ERRORS, SluiceError } from '../../src/errors.js';
import { resolveClaim } from '../../src/permissions/claims.js';
import { resolveDbRole } from '../../src/permissions/db-role.js';
import { bindParams } from '../../src/sql/bind-params.js';
import { createValidator, loadSqlParsers } from '../../src/sql/create-validator.js';

const NS = 'https://app.example/tenant';
/** The finding: routing read the whole key (2), the row filter the nested path (1). */
const TWO_READINGS = { sub: 'u1', role: 'member', app: { tenant: 1 }, 'app.tenant': 2 };

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof SluiceError ? e.code : String(e);
  }
}

describe('readClaim', () => {
  it('reads top-level, nested and namespaced claims, and namespaced keys with nested parts', () => {
    const payload = { tenant_id: 7, org: { id: 'o1', team: { id: 3 } }, [NS]: 'acme', 'https://app.example/org': { id: 'o9' } };
    expect(readClaim(payload, 'tenant_id')).toBe(7);
    expect(readClaim(payload, 'org.id')).toBe('o1');
    expect(readClaim(payload, 'org.team.id')).toBe(3);
    expect(readClaim(payload, NS)).toBe('acme');
    expect(readClaim(payload, 'https://app.example/org.id')).toBe('o9');
    expect(readClaim(payload, 'org')).toEqual({ id: 'o1', team: { id: 3 } });
  });

  it('answers undefined for what the token does not have, including inherited names and array items', () => {
    const payload = JSON.parse('{"groups":[{"id":1}],"org":{"id":"o1"},"__proto__":{"polluted":1}}') as Record<string, unknown>;
    expect(readClaim(payload, 'missing')).toBeUndefined();
    expect(readClaim(payload, 'org.missing.deep')).toBeUndefined();
    expect(readClaim(payload, 'org.id.length')).toBeUndefined();
    expect(readClaim(payload, 'toString')).toBeUndefined();
    expect(readClaim(payload, 'org.constructor')).toBeUndefined();
    expect(readClaim(payload, 'groups.0.id')).toBeUndefined();
    expect(readClaim(payload, 'groups')).toEqual([{ id: 1 }]);
    // An own "__proto__" key from JSON is a claim like any other, not the prototype.
    expect(readClaim(payload, '__proto__.polluted')).toBe(1);
  });

  it('refuses a reference with two readings (CLAIM_AMBIGUOUS, 403) whichever reading comes first in the token', () => {
    expect(codeOf(() => readClaim(TWO_READINGS, 'app.tenant'))).toBe('CLAIM_AMBIGUOUS');
    expect(codeOf(() => readClaim({ 'app.tenant': 2, app: { tenant: 1 } }, 'app.tenant'))).toBe('CLAIM_AMBIGUOUS');
    // Deeper down, and between two dotted keys.
    expect(codeOf(() => readClaim({ a: { 'b.c': 1, b: { c: 2 } } }, 'a.b.c'))).toBe('CLAIM_AMBIGUOUS');
    expect(codeOf(() => readClaim({ 'a.b': { c: 1 }, a: { 'b.c': 2 } }, 'a.b.c'))).toBe('CLAIM_AMBIGUOUS');
    // Two readings holding the same value are still two readings.
    expect(codeOf(() => readClaim({ 'a.b': 1, a: { b: 1 } }, 'a.b'))).toBe('CLAIM_AMBIGUOUS');
    expect(ERRORS.CLAIM_AMBIGUOUS.status).toBe(403);
  });

  it('names the first ambiguous reference of a token, and none for a token without one', () => {
    expect(ambiguousClaim(TWO_READINGS)).toBe('app.tenant');
    expect(ambiguousClaim({ 'a.b': { c: 1 }, a: { b: { d: 2 } } })).toBe('a.b');
    expect(ambiguousClaim({ [NS]: 1, 'https://app': { other: 2 }, app: { tenant: 1 }, 'app.other': 3 })).toBeUndefined();
  });

  it('the config refuses references of more than 32 parts, so every reading of one is indexed', () => {
    const long = Array.from({ length: 33 }, (_, i) => `p${i}`).join('.');
    const ok = long.split('.').slice(0, 32).join('.');
    const base = { auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } } };
    const filterOn = (ref: string) => ({ member: { main: { notes: { select: { columns: '*', filter: { tenant_id: `$claims.${ref}` } } } } } });
    expect(() => parseConfig({ ...base, connections: { main: 'postgres://u@h/db' }, permissions: filterOn(long) })).toThrow(/permissions/);
    expect(() => parseConfig({ ...base, connections: { main: 'postgres://u@h/db' }, permissions: filterOn(ok) })).not.toThrow();
    expect(() => parseConfig({ ...base, connections: { main: { url: 'postgres://u@h/db', dbRole: `t_{${long}}` } } })).toThrow(/dbRole/);
    expect(() => parseConfig({ ...base, connections: { main: { url: 'mysql://u@h/db', tenantClaim: long } } })).toThrow(/tenantClaim/);
    expect(() => parseConfig({ ...base, auth: { ...base.auth, claims: { tenant: long } }, connections: { main: 'postgres://u@h/db' } })).toThrow(/auth\.claims\.tenant/);
  });

  it('does not index claims deeper than 32 levels (no reference reaches them: they read as missing)', () => {
    let deep: Record<string, unknown> = { v: 'bottom' };
    for (let i = 0; i < 40; i++) deep = { n: deep };
    expect(readClaim(deep, `${'n.'.repeat(31)}n`)).toEqual(expect.objectContaining({ n: expect.anything() }));
    expect(readClaim(deep, `${'n.'.repeat(32)}n`)).toBeUndefined();
  });
});

describe('the principal', () => {
  it('reads role, tenant and user from namespaced claims', () => {
    const payload = { 'https://app.example/role': 'member', [NS]: 'acme', 'https://app.example/user': { id: 'u9' } };
    const claims = { role: 'https://app.example/role', tenant: NS, user: 'https://app.example/user.id' };
    expect(toPrincipal(payload, claims)).toMatchObject({ role: 'member', tenant: 'acme', user: 'u9' });
  });

  it('refuses a token with two readings of any reference, even one the config does not read', () => {
    const claims = { role: 'role', tenant: 'app.tenant', user: 'sub' };
    expect(codeOf(() => toPrincipal(TWO_READINGS, claims))).toBe('CLAIM_AMBIGUOUS');
    expect(codeOf(() => toPrincipal(TWO_READINGS, { ...claims, tenant: 'tenant_id' }))).toBe('CLAIM_AMBIGUOUS');
    expect(codeOf(() => toPrincipal({ ...TWO_READINGS, 'app.tenant': 1 }, claims))).toBe('CLAIM_AMBIGUOUS');
    expect(toPrincipal({ sub: 'u1', role: 'member', app: { tenant: 1 } }, claims)).toMatchObject({ tenant: 1 });
    expect(toPrincipal({ sub: 'u1', role: 'member', 'app.tenant': 2 }, claims)).toMatchObject({ tenant: 2 });
  });
});

describe('claims in permissions, templates and the MySQL session', () => {
  it('resolveClaim reads namespaced references and refuses missing, non-scalar and ambiguous ones', () => {
    expect(resolveClaim({ [NS]: 'acme' }, NS)).toBe('acme');
    expect(resolveClaim({ 'https://app.example/groups': ['a', 'b'] }, 'https://app.example/groups')).toEqual(['a', 'b']);
    expect(codeOf(() => resolveClaim({ https: { 'app.example/tenant': 1 }, x: 1 }, NS))).toBe('CLAIM_MISSING');
    expect(codeOf(() => resolveClaim({ [NS]: { id: 1 } }, NS))).toBe('CLAIM_MISSING');
    expect(codeOf(() => resolveClaim({ [NS]: 1, 'https://app': { 'example/tenant': 2 } }, NS))).toBe('CLAIM_AMBIGUOUS');
  });

  it('dbRole templates take namespaced references (config and resolution)', () => {
    const dbRole = 'tenant_{https://app.example/tenant}_{org.id}';
    const config = parseConfig({ auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } }, connections: { main: { url: 'postgres://u@h/db', dbRole } } });
    expect(config.connections.main).toMatchObject({ dbRole });
    expect(resolveDbRole(dbRole, { [NS]: 'acme', org: { id: 7 } })).toBe('tenant_acme_7');
    expect(codeOf(() => resolveDbRole(dbRole, { https: { 'app.example/tenant': 'acme' }, org: { id: 7 } }))).toBe('CLAIM_MISSING');
    expect(codeOf(() => resolveDbRole(dbRole, { [NS]: 'acme', org: { id: 7 }, 'org.id': 8 }))).toBe('CLAIM_AMBIGUOUS');
  });

  it("a MySQL connection's tenantClaim: namespaced accepted, missing is NULL, ambiguous refused", () => {
    const config = parseConfig({ auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } }, connections: { main: { url: 'mysql://u@h/db', tenantClaim: NS } } });
    expect(config.connections.main).toMatchObject({ tenantClaim: NS });
    expect(tenantOf({ [NS]: 42 }, NS)).toBe(42);
    expect(tenantOf({ sub: 'u1' }, NS)).toBeNull();
    expect(codeOf(() => tenantOf({ [NS]: 42, 'https://app': { 'example/tenant': 43 } }, NS))).toBe('CLAIM_AMBIGUOUS');
  });

  describe('row filters and presets in every dialect', () => {
    beforeAll(async () => {
      await loadSqlParsers();
    });

    const permissions = {
      member: {
        main: {
          notes: {
            select: { columns: ['id', 'body'], filter: { tenant_id: `$claims.${NS}`, org_id: { in: '$claims.https://app.example/org.ids' } } },
            insert: { columns: ['body'], set: { tenant_id: `$claims.${NS}` } },
          },
        },
      },
    };
    const connections = { postgres: 'postgres://u@h/db', mysql: 'mysql://u@h/db', sqlite: './unused.db' } as const;
    const token = { [NS]: 'acme', 'https://app.example/org': { ids: [1, 2] } };

    it.each(Object.entries(connections))('%s: the filter and the preset bind the namespaced claims', (_dialect, url) => {
      const config = parseConfig({ auth: { jwt: { secret: 'x'.repeat(32), algorithms: ['HS256'] } }, connections: { main: url }, permissions });
      const validator = createValidator(config, 'main');
      const read = validator.check({ sql: 'select id from notes', role: 'member' });
      expect(read.claimParams).toEqual([
        { kind: 'claim', ref: NS },
        { kind: 'claim', ref: 'https://app.example/org.ids' },
      ]);
      const params = bindParams(read, [], token);
      expect(params).toContain('acme');
      expect(JSON.stringify(params)).toContain('1,2');
      const write = validator.check({ sql: "insert into notes (body) values ('x')", role: 'member' });
      expect(bindParams(write, [], token)).toEqual(['acme']);
      // The same name spelled nested is the same claim; another name is not.
      expect(bindParams(write, [], { 'https://app': { 'example/tenant': 'nested' } })).toEqual(['nested']);
      expect(codeOf(() => bindParams(write, [], { https: { 'app.example/tenant': 'acme' } }))).toBe('CLAIM_MISSING');
      expect(codeOf(() => bindParams(write, [], { ...token, 'https://app': { 'example/tenant': 'other' } }))).toBe('CLAIM_AMBIGUOUS');
    });
  });
});
