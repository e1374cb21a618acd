import type { Database } from '../shared/db.js';
import { seedBillingPlans, seedProducts, seedTenants } from '../shared/seed-data.js';
import { billingPlans, products, tenants } from './db/schema.js';

/** Idempotent: rows that exist are left as they are, so a restart never undoes a change. */
export async function seedCatalog(db: Database): Promise<void> {
  await db.insert(billingPlans).values([...seedBillingPlans]).onConflictDoNothing();
  await db.insert(tenants).values([...seedTenants]).onConflictDoNothing();
  await db.insert(products).values([...seedProducts]).onConflictDoNothing();
}
