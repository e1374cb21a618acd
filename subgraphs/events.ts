// What a subgraph process runs of the event system beside its server (docs/events.md): the relay of its
// database's outbox. Started by `npm run subgraph` when GEOFED_NATS_URL is set, and by the dev runner on
// the in-process bus.
import type { EventBus } from '../runtime/events/bus.js';
import type { EventsSettings } from '../runtime/events/settings.js';
import { outbox as catalogOutbox } from './catalog/db/schema.js';
import type { DatabaseHandle } from './shared/db.js';
import { outbox as regionalOutbox } from './shared/db/schema.js';
import { startOutboxRelay, type RunningRelay } from './shared/outbox-relay.js';

export interface DatabaseEventsOptions {
  readonly database: DatabaseHandle;
  /** `catalog`: the global catalog primary; `regional`: the database of `region`. */
  readonly scope: 'catalog' | 'regional';
  readonly region: string;
  readonly bus: EventBus;
  readonly settings: EventsSettings;
}

/**
 * The relay of one database. Every process on a database may start one: an
 * advisory lock lets one publish at a time, so the catalog instances of every
 * region, or users and orders of one region, share the work in order.
 */
export function startDatabaseRelay({ database, scope, region, bus, settings }: DatabaseEventsOptions): RunningRelay {
  return startOutboxRelay({
    database,
    table: scope === 'catalog' ? catalogOutbox : regionalOutbox,
    region: scope === 'catalog' ? null : region,
    bus,
    prefix: settings.prefix,
    duplicateWindowMs: settings.duplicateWindowMs,
    pollMs: settings.pollMs,
  });
}
