import { bigserial, jsonb, pgTable, text, timestamp, uuid, type PgColumn, type PgPolicy } from 'drizzle-orm/pg-core';
import type { DataClass } from '../../protocol/events.js';

/**
 * The transactional outbox of one database: an event row is written in the
 * transaction of the change it tells of, so an event exists if and only if
 * its change committed. The relay (outbox-relay.ts) publishes rows in `seq`
 * order and deletes them once JetStream has stored them. `policies` are the
 * regional databases' row-level security (the catalog has none).
 */
export function outboxTable(policies: (tenantId: PgColumn) => PgPolicy[] = () => []) {
  return pgTable(
    'outbox',
    {
      /** The order of publication: one database's changes are published in the order they were written. */
      seq: bigserial('seq', { mode: 'number' }).primaryKey(),
      /** The event's id and JetStream's message id: a row published twice is stored once. */
      id: uuid('id').notNull().unique(),
      type: text('type').notNull(),
      dataClass: text('data_class', { enum: ['global', 'regional'] as const satisfies readonly DataClass[] }).notNull(),
      /** The home region of a regional event. */
      region: text('region'),
      tenantId: text('tenant_id'),
      entity: text('entity').notNull(),
      data: jsonb('data').notNull().$type<Record<string, unknown>>(),
      occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    },
    (table) => policies(table.tenantId),
  );
}

export type OutboxTable = ReturnType<typeof outboxTable>;
