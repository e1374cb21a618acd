import type { Database } from '../shared/db.js';
import { seedUsers, tenantsOfRegion } from '../shared/seed-data.js';
import { users } from './db/schema.js';

/** Seeds only the users whose tenant lives in this region: personal data starts where it belongs. */
export async function seedUsersOfRegion(db: Database, region: string): Promise<void> {
  const tenants = tenantsOfRegion(region);
  const rows = seedUsers.filter((user) => tenants.has(user.tenantId));
  if (rows.length > 0) await db.insert(users).values(rows).onConflictDoNothing();
}
