import type { Database } from '../shared/db.js';
import { seedOrders, tenantsOfRegion } from '../shared/seed-data.js';
import { orderItems, orders } from './db/schema.js';

/** Seeds only the orders whose tenant lives in this region. */
export async function seedOrdersOfRegion(db: Database, region: string): Promise<void> {
  const tenants = tenantsOfRegion(region);
  const rows = seedOrders.filter((order) => tenants.has(order.tenantId));
  if (rows.length === 0) return;
  await db.insert(orders).values(rows.map(({ items: _items, ...order }) => order)).onConflictDoNothing();
  await db
    .insert(orderItems)
    .values(rows.flatMap((order) => order.items.map((item) => ({ ...item, orderId: order.id, tenantId: order.tenantId }))))
    .onConflictDoNothing();
}
