// What a subgraph process runs of the event system beside its server (docs/events.md): the relay of its
// database's outbox, and in the users subgraph's region the webhook intake and delivery worker. Started by
// `npm run subgraph` when GEOFED_NATS_URL is set, and by the dev runner on the in-process bus.
import type { Registry } from 'prom-client';
import type { EventTypeName } from '../protocol/events.js';
import type { EventBus } from '../runtime/events/bus.js';
import type { EventsSettings } from '../runtime/events/settings.js';
import { catalogOutbox } from './catalog/db/schema.js';
import type { Database, DatabaseHandle } from './shared/db.js';
import { regionalOutbox } from './shared/db/schema.js';
import { recordEvent, type NewEvent } from './shared/outbox.js';
import { startOutboxRelay, type RunningRelay } from './shared/outbox-relay.js';
import { startDeliveryWorker } from './users/webhooks/delivery-worker.js';
import { startWebhookIntake } from './users/webhooks/intake.js';
import type { WebhookSettings } from './users/webhooks/settings.js';

export { webhookSettings, type WebhookSettings } from './users/webhooks/settings.js';

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

/**
 * Appends an event to a regional database's outbox on `db`, the caller's
 * transaction, as a regional resolver's change does: for code outside the
 * subgraphs (the events benchmark) that commits events without a resolver.
 */
export function recordRegionalEvent<N extends EventTypeName>(db: Database, event: NewEvent<N>): Promise<string> {
  return recordEvent(db, regionalOutbox, event);
}

export interface WebhookWorkersOptions {
  /** The region's database, where its tenants' endpoints live. */
  readonly database: DatabaseHandle;
  readonly region: string;
  readonly bus: EventBus;
  readonly settings: EventsSettings;
  readonly webhooks: WebhookSettings;
  readonly registry?: Registry;
  /** @default Math.random (the retry jitter) */
  readonly random?: () => number;
}

/**
 * A region's webhooks: its events become deliveries of its tenants'
 * endpoints, which its worker delivers. Only the home region of an endpoint
 * ever delivers to it.
 */
export async function startWebhookWorkers({ database, region, bus, settings, webhooks, registry, random }: WebhookWorkersOptions): Promise<{ stop(): Promise<void> }> {
  const worker = startDeliveryWorker({ database, settings: webhooks, ...(random ? { random } : {}) });
  try {
    const intake = await startWebhookIntake({ bus, events: settings, region, database, maxAttempts: webhooks.retry.maxAttempts, onQueued: () => worker.nudge(), ...(registry ? { registry } : {}) });
    return {
      async stop() {
        await intake.stop();
        await worker.stop();
      },
    };
  } catch (error) {
    await worker.stop();
    throw error;
  }
}
