import DataLoader from 'dataloader';
import { and, asc, eq, getTableColumns, inArray, lte, sql } from 'drizzle-orm';
import { groupsInOrderOf, inOrderOf } from '../shared/batch.js';
import type { Database } from '../shared/db.js';
import { orderItems, orders } from './db/schema.js';

export type OrderRow = typeof orders.$inferSelect;
export type OrderItemRow = typeof orderItems.$inferSelect;

/** Per-request loaders scoped to the caller's tenant; every list of children is one query for all parents. */
export function ordersLoaders(db: Database, tenantId: string | undefined) {
  const newestOrdersByPageSize = new Map<number, DataLoader<string, OrderRow[]>>();
  return {
    order: new DataLoader<string, OrderRow | null>(async (ids) => {
      if (tenantId === undefined) return ids.map(() => null);
      const rows = await db.select().from(orders).where(and(eq(orders.tenantId, tenantId), inArray(orders.id, [...ids])));
      return inOrderOf(ids, rows);
    }),
    itemsOfOrder: new DataLoader<string, OrderItemRow[]>(async (orderIds) => {
      if (tenantId === undefined) return orderIds.map(() => []);
      const rows = await db
        .select()
        .from(orderItems)
        .where(and(eq(orderItems.tenantId, tenantId), inArray(orderItems.orderId, [...orderIds])))
        .orderBy(asc(orderItems.orderId), asc(orderItems.line));
      return groupsInOrderOf(orderIds, rows, (row) => row.orderId);
    }),
    /** The newest `first` orders of each user: one windowed query for all users that share a page size. */
    newestOrdersOfUser(first: number): DataLoader<string, OrderRow[]> {
      let loader = newestOrdersByPageSize.get(first);
      if (!loader) {
        loader = new DataLoader<string, OrderRow[]>(async (userIds) => {
          if (tenantId === undefined || first === 0) return userIds.map(() => []);
          const ranked = db
            .select({
              ...getTableColumns(orders),
              rank: sql<number>`row_number() over (partition by ${orders.userId} order by ${orders.createdAt} desc, ${orders.id} desc)`.as('rank'),
            })
            .from(orders)
            .where(and(eq(orders.tenantId, tenantId), inArray(orders.userId, [...userIds])))
            .as('ranked');
          const rows = await db.select().from(ranked).where(lte(ranked.rank, first)).orderBy(asc(ranked.rank));
          return groupsInOrderOf(userIds, rows as OrderRow[], (row) => row.userId);
        });
        newestOrdersByPageSize.set(first, loader);
      }
      return loader;
    },
  };
}

export type OrdersLoaders = ReturnType<typeof ordersLoaders>;
