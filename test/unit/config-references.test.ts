import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/schema.js';
import { compilePermissions } from '../../src/permissions/model.js';
import { CONFIG_TEST_SECRET, configErrorOf } from '../helpers/config-error.js';

const PG = 'postgres://app@127.0.0.1:5432/shop';
const own = { tenant_id: '$claims.tenant_id' };

function raw(orders: Record<string, unknown>, o: { customers?: Record<string, unknown>; connections?: Record<string, unknown>; key?: string; tenants?: unknown } = {}): any {
  return {
    auth: { jwt: { secret: CONFIG_TEST_SECRET, algorithms: ['HS256'] } },
    connections: o.connections ?? { main: PG },
    ...(o.tenants !== undefined && { tenants: o.tenants }),
    permissions: {
      member: {
        [o.key ?? 'main']: {
          customers: o.customers ?? { select: { columns: ['id', 'name'], filter: own } },
          orders: { select: { columns: '*', filter: own }, insert: { columns: ['customer_id'], set: own }, ...orders },
        },
      },
    },
  };
}

describe('config: references (foreign keys checked against the caller\'s view)', () => {
  it('compiles a reference to the referenced table\'s key in the connection\'s schema', () => {
    const config = parseConfig(raw({ references: { customer_id: { table: 'customers', column: 'id' } } }));
    const perms = compilePermissions(config, 'main').role('member')!;
    expect([...perms.tables.get('public.orders')!.references]).toEqual([['customer_id', { key: 'public.customers', column: 'id' }]]);
    expect(perms.tables.get('public.customers')!.references.size).toBe(0);
  });

  it.each([
    [{ customer_id: { table: 'clients', column: 'id' } }, {}, 'references.customer_id.table: "clients" must be a table this role may select from'],
    [{ customer_id: { table: 'customers', column: 'email' } }, {}, 'references.customer_id.column: "email" must be in customers\'s select.columns'],
    [{ customer_id: { table: 'customers', column: 'id' } }, { customers: { insert: { columns: ['name'] } } }, 'must be a table this role may select from'],
    [{ customer_id: { table: 'customers' } }, {}, 'references.customer_id.column'],
    [{ customer_id: { table: 'customers', column: 'id', filter: own } }, {}, 'references.customer_id'],
    [{ 'customer id': { table: 'customers', column: 'id' } }, {}, 'references["customer id"]'],
    [{ tenant_id: { table: 'customers', column: 'id' } }, {}, '"tenant_id" is preset'],
  ])('refuses %j', (references, o, message) => {
    expect(configErrorOf(raw({ references }, o))).toContain(message);
  });

  it.each([
    ['mysql://app@127.0.0.1:3306/shop', 'mysql'],
    ['sqlite:/tmp/x.db', 'sqlite'],
  ])('is refused on a %s connection (Postgres only)', (url, dialect) => {
    const message = configErrorOf(raw({ references: { customer_id: { table: 'customers', column: 'id' } } }, { connections: { main: url } }));
    expect(message).toContain(`reference checks are supported on Postgres only; connection "main" is ${dialect}`);
  });

  it('on a tier, every connection a tenant may be routed to must be Postgres', () => {
    const tenants = { tiers: { pro: { connection: 'main' } } };
    const ok = raw({ references: { customer_id: { table: 'customers', column: 'id' } } }, { key: '@pro', tenants });
    expect(() => parseConfig(ok)).not.toThrow();
    const mixed = raw({ references: { customer_id: { table: 'customers', column: 'id' } } }, { key: '@pro', tenants, connections: { main: PG, legacy: 'mysql://a@h/db' } });
    expect(configErrorOf(mixed)).toContain('connection "legacy" is mysql');
  });
});
