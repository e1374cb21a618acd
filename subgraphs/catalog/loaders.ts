import DataLoader from 'dataloader';
import { inArray } from 'drizzle-orm';
import type { Database } from '../shared/db.js';
import { inOrderOf } from '../shared/batch.js';
import { products, tenants } from './db/schema.js';

export type ProductRow = typeof products.$inferSelect;
export type TenantRow = typeof tenants.$inferSelect;

/** Per-request loaders: N entity references of one type are one SQL query. */
export function catalogLoaders(db: Database) {
  return {
    product: new DataLoader<string, ProductRow | null>(async (ids) => {
      const rows = await db.select().from(products).where(inArray(products.id, [...ids]));
      return inOrderOf(ids, rows);
    }),
    tenant: new DataLoader<string, TenantRow | null>(async (ids) => {
      const rows = await db.select().from(tenants).where(inArray(tenants.id, [...ids]));
      return inOrderOf(ids, rows);
    }),
  };
}

export type CatalogLoaders = ReturnType<typeof catalogLoaders>;
