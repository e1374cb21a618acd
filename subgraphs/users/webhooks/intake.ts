import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Registry } from 'prom-client';
import { globalStream, regionalStream, streamsOf } from '../../../protocol/event-routing.js';
import type { EventEnvelope } from '../../../protocol/events.js';
import type { EventBus } from '../../../runtime/events/bus.js';
import { startConsumer, type RunningConsumer } from '../../../runtime/events/consumer.js';
import { layoutOf, type EventsSettings } from '../../../runtime/events/settings.js';
import type { DatabaseHandle } from '../../shared/db.js';
import { rowsOf } from '../../shared/rows.js';

export interface WebhookIntakeOptions {
  readonly bus: EventBus;
  readonly events: EventsSettings;
  readonly region: string;
  /** The region's database, where its tenants' endpoints and deliveries live. */
  readonly database: DatabaseHandle;
  /** Attempts a new delivery gets (GEOFED_WEBHOOK_MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** Deliveries were queued (the delivery worker looks at once). */
  readonly onQueued: () => void;
  readonly registry?: Registry;
}

/**
 * Turns a region's events into webhook deliveries for the endpoints of the
 * region's tenants that asked for their type: the region's own stream (its
 * tenants' regional events) and the global one (a tenant's status, for that
 * tenant; catalog changes, for every endpoint that wants them). A delivery is
 * unique per (event, endpoint), so an event consumed twice is delivered once.
 * Only the region that holds the endpoint ever delivers to it.
 */
export async function startWebhookIntake({ bus, events, region, database, maxAttempts, onQueued, registry }: WebhookIntakeOptions): Promise<{ stop(): Promise<void> }> {
  await bus.ensureStreams(streamsOf(layoutOf(events, [region])));
  const handle = async (event: EventEnvelope) => {
    // The owner's view: the consumer acts for every tenant of the region.
    const endpoints = await rowsOf<{ id: string; tenant_id: string }>(
      database.db,
      sql`select id, tenant_id from webhook_endpoints where ${event.type} = any(events) and (${event.tenantId}::text is null or tenant_id = ${event.tenantId})`,
    );
    if (endpoints.length === 0) return;
    const payload = JSON.stringify({ type: event.type, timestamp: event.occurredAt, data: event.data });
    for (const endpoint of endpoints) {
      await database.db.execute(sql`insert into webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload, attempt_limit)
                                    values (${`whd_${randomUUID()}`}, ${endpoint.tenant_id}, ${endpoint.id}, ${event.id}, ${event.type}, ${payload}::jsonb, ${maxAttempts})
                                    on conflict (event_id, endpoint_id) do nothing`);
    }
    onQueued();
  };
  const common = { bus, prefix: events.prefix, region, name: `webhooks-${region}`, handle, maxAttempts: events.maxAttempts, ...(registry ? { registry } : {}) };
  const consumers: RunningConsumer[] = [await startConsumer({ ...common, stream: regionalStream(events.prefix, region) })];
  try {
    consumers.push(await startConsumer({ ...common, stream: globalStream(events.prefix) }));
  } catch (error) {
    await consumers[0]!.stop();
    throw error;
  }
  return { stop: async () => void (await Promise.all(consumers.map((c) => c.stop()))) };
}
