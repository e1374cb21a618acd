import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { tenantIsolation } from '../../shared/tenant-policy.js';

/** Personal data: lives only in the database of its tenant's region. */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    email: text('email').notNull().unique(),
    name: text('name').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('users_tenant_idx').on(table.tenantId), tenantIsolation('users', table.tenantId)],
);

export { webhookAttempts, webhookDeliveries, webhookEndpoints } from './webhooks.js';
