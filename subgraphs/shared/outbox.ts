import { randomUUID } from 'node:crypto';
import { entityOf, eventProblem, eventTypes, type EventTypeName } from '../../protocol/events.js';
import type { Database } from './db.js';
import type { OutboxTable } from './outbox-table.js';

/** The data of an event of type `N`: exactly the fields protocol/events.ts declares for it. */
export type EventData<N extends EventTypeName> = { readonly [Field in keyof (typeof eventTypes)[N]['fields']]: unknown };

export interface NewEvent<N extends EventTypeName> {
  readonly type: N;
  readonly data: EventData<N>;
  /** The home region of a regional event; a global one has none. */
  readonly region?: string;
  readonly tenantId?: string;
}

/**
 * Appends an event to the outbox, on `db`: the caller's transaction, the one
 * of the change it tells of. An event its declaration does not allow (a field
 * it does not declare, a regional event without its region) throws, and the
 * change is rolled back with it: no change commits untold.
 */
export async function recordEvent<N extends EventTypeName>(db: Database, table: OutboxTable, event: NewEvent<N>): Promise<string> {
  const data = event.data as Readonly<Record<string, unknown>>;
  const region = event.region ?? null;
  const problem = eventProblem(event.type, data, region);
  if (problem) throw new Error(`refused to record an event: ${problem}`);
  const id = randomUUID();
  await db.insert(table).values({
    id,
    type: event.type,
    dataClass: eventTypes[event.type].dataClass,
    region,
    tenantId: event.tenantId ?? null,
    entity: entityOf(event.type, data),
    data: { ...data },
  });
  return id;
}
