import DataLoader from 'dataloader';
import { and, eq, inArray } from 'drizzle-orm';
import { inOrderOf } from '../shared/batch.js';
import type { Database } from '../shared/db.js';
import { users } from './db/schema.js';

export type UserRow = typeof users.$inferSelect;

export interface UsersTestHooks {
  /**
   * Drops the tenant filter from the user loader: the bug row-level security
   * must survive. Only a test can set it (see SubgraphTestHooks).
   */
  readonly forgetTenantFilter?: boolean;
}

/** Users are always read within the caller's tenant: another tenant's id loads as null. */
export function usersLoaders(db: Database, tenantId: string | undefined, { forgetTenantFilter = false }: UsersTestHooks = {}) {
  return {
    user: new DataLoader<string, UserRow | null>(async (ids) => {
      if (tenantId === undefined) return ids.map(() => null);
      const byId = inArray(users.id, [...ids]);
      const rows = await db.select().from(users).where(forgetTenantFilter ? byId : and(eq(users.tenantId, tenantId), byId));
      return inOrderOf(ids, rows);
    }),
  };
}

export type UsersLoaders = ReturnType<typeof usersLoaders>;
