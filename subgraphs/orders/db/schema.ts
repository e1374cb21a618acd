import { index, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { tenantIsolation } from '../../shared/tenant-policy.js';

export const orders = pgTable(
  'orders',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    userId: text('user_id').notNull(),
    status: text('status').notNull(),
    totalCents: integer('total_cents').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('orders_user_created_idx').on(table.tenantId, table.userId, table.createdAt), tenantIsolation('orders', table.tenantId)],
);

/** The unit price is copied from the catalog when the order is placed: an order keeps the price it was sold at. */
export const orderItems = pgTable(
  'order_items',
  {
    orderId: text('order_id').notNull().references(() => orders.id, { onDelete: 'cascade' }),
    line: integer('line').notNull(),
    tenantId: text('tenant_id').notNull(),
    productId: text('product_id').notNull(),
    quantity: integer('quantity').notNull(),
    unitPriceCents: integer('unit_price_cents').notNull(),
  },
  (table) => [primaryKey({ columns: [table.orderId, table.line] }), tenantIsolation('order_items', table.tenantId)],
);
