/**
 * The client-side Drizzle schema an app would write against sluice: only the columns the `member`
 * role may see. Gateway-preset and server-defaulted columns are declared nullable without a
 * Drizzle default, so inserts send the `default` keyword for them rather than a value
 * (a Drizzle `.default(x)` would send x, which the gateway must refuse for a non-insertable column).
 */
import { relations } from 'drizzle-orm';
import { integer, numeric, pgTable, serial, text, timestamp } from 'drizzle-orm/pg-core';

export const customers = pgTable('customers', {
  id: serial('id').primaryKey(),
  tenantId: integer('tenant_id'),
  name: text('name').notNull(),
  email: text('email'),
});

export const orders = pgTable('orders', {
  id: serial('id').primaryKey(),
  tenantId: integer('tenant_id'),
  customerId: integer('customer_id').notNull(),
  total: numeric('total', { precision: 10, scale: 2 }).notNull(),
  status: text('status'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }),
});

export const orderItems = pgTable('order_items', {
  id: serial('id').primaryKey(),
  tenantId: integer('tenant_id'),
  orderId: integer('order_id'),
  sku: text('sku'),
  qty: integer('qty'),
});

export const customersRelations = relations(customers, ({ many }) => ({ orders: many(orders) }));
export const ordersRelations = relations(orders, ({ one, many }) => ({
  customer: one(customers, { fields: [orders.customerId], references: [customers.id] }),
  orderItems: many(orderItems),
}));
export const orderItemsRelations = relations(orderItems, ({ one }) => ({
  order: one(orders, { fields: [orderItems.orderId], references: [orders.id] }),
}));

/** The same table as an over-curious app would declare it, hidden column included. */
export const customersWithSecret = pgTable('customers', {
  id: serial('id').primaryKey(),
  tenantId: integer('tenant_id'),
  name: text('name').notNull(),
  email: text('email'),
  secretNote: text('secret_note'),
});

export const clientSchema = { customers, orders, orderItems, customersRelations, ordersRelations, orderItemsRelations };
