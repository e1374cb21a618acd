import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { outboxTable } from '../../shared/outbox-table.js';

/** Tenants' billing plans, which size their rate-limit budgets. */
export const billingPlans = pgTable('plans', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
});

/** The tenants directory: the one authority on a tenant's region. */
export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  region: text('region').notNull(),
  billingPlan: text('plan').notNull().references(() => billingPlans.id),
  status: text('status', { enum: ['active', 'suspended'] }).notNull().default('active'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const products = pgTable('products', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  priceCents: integer('price_cents').notNull(),
  currency: text('currency').notNull().default('USD'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Catalog changes that every region must learn of (products, tenants' status). */
export const catalogOutbox = outboxTable();
