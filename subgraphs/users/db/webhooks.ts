import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { tenantIsolation } from '../../shared/tenant-policy.js';

/**
 * A tenant's webhook endpoints, in its home region's database: the URL, the
 * event types it wants, and the secret its deliveries are signed with
 * (Standard Webhooks' `whsec_…`).
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    url: text('url').notNull(),
    events: text('events').array().notNull(),
    secret: text('secret').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('webhook_endpoints_tenant_idx').on(table.tenantId), tenantIsolation('webhook_endpoints', table.tenantId)],
);

/**
 * One event for one endpoint: at most one per (event, endpoint), so an event
 * consumed twice is delivered once. Its id is the `webhook-id` of every
 * attempt. `pending` until a 2xx (`delivered`) or its last attempt (`dead`).
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    tenantId: text('tenant_id').notNull(),
    endpointId: text('endpoint_id').notNull().references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id').notNull(),
    eventType: text('event_type').notNull(),
    payload: jsonb('payload').notNull().$type<Record<string, unknown>>(),
    status: text('status', { enum: ['pending', 'delivered', 'dead'] }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Dead once `attempts` reaches it: the schedule's attempts, and as many again after each replay. */
    attemptLimit: integer('attempt_limit').notNull(),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** A worker holds the delivery until then; past it, another may try (a worker that died mid-attempt). */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    unique('webhook_deliveries_event_endpoint').on(table.eventId, table.endpointId),
    index('webhook_deliveries_due_idx').on(table.nextAttemptAt).where(sql`status = 'pending'`),
    index('webhook_deliveries_endpoint_idx').on(table.endpointId, table.createdAt),
    tenantIsolation('webhook_deliveries', table.tenantId),
  ],
);

/** The delivery log: every attempt, its answer and how long it took. */
export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    deliveryId: text('delivery_id').notNull().references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    attempt: integer('attempt').notNull(),
    tenantId: text('tenant_id').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, precision: 3 }).notNull(),
    /** The HTTP status, or null when no answer came (refused, timed out). */
    statusCode: integer('status_code'),
    error: text('error'),
    latencyMs: integer('latency_ms').notNull(),
    /** The wait the schedule drew before the next attempt (with its jitter); null after the last one. */
    retryDelayMs: integer('retry_delay_ms'),
  },
  (table) => [primaryKey({ columns: [table.deliveryId, table.attempt] }), tenantIsolation('webhook_attempts', table.tenantId)],
);
