import DataLoader from 'dataloader';
import { and, eq, inArray } from 'drizzle-orm';
import { inOrderOf } from '../shared/batch.js';
import type { Database } from '../shared/db.js';
import { users } from './db/schema.js';

export type UserRow = typeof users.$inferSelect;

/** Users are always read within the caller's tenant: another tenant's id loads as null. */
export function usersLoaders(db: Database, tenantId: string | undefined) {
  return {
    user: new DataLoader<string, UserRow | null>(async (ids) => {
      if (tenantId === undefined) return ids.map(() => null);
      const rows = await db.select().from(users).where(and(eq(users.tenantId, tenantId), inArray(users.id, [...ids])));
      return inOrderOf(ids, rows);
    }),
  };
}

export type UsersLoaders = ReturnType<typeof usersLoaders>;
