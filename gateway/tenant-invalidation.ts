import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Registry } from 'prom-client';
import { globalStream, streamsOf } from '../protocol/event-routing.js';
import type { EventEnvelope } from '../protocol/events.js';
import type { EventBus } from '../runtime/events/bus.js';
import { startConsumer } from '../runtime/events/consumer.js';
import { layoutOf, openEventBus, type EventsSettings } from '../runtime/events/settings.js';
import type { CachedTenantDirectory, TenantDirectory } from './tenant-directory.js';

export interface DirectoryEventsOptions {
  readonly bus: EventBus;
  readonly settings: EventsSettings;
  /** The gateway's region: its dead letters stay there. */
  readonly region: string;
  /** The directory of the pipeline being served: a reload builds a new one, so it is asked at every event. */
  readonly directory: () => TenantDirectory | undefined;
  /**
   * Names this gateway's consumer: each gateway keeps a cache of its own, so
   * each needs every event (several may share a process: the dev runner's, a
   * test's). @default `<hostname>-<pid>-<random>`
   */
  readonly instance?: string;
  readonly registry?: Registry;
  /** Sees each catalog event once its effect is applied (tests and bench/events.ts wait on it). */
  readonly onApplied?: (event: EventEnvelope) => void;
}

export interface RunningDirectoryEvents {
  stop(): Promise<void>;
}

/** A gateway process's consumer, idle this long (the process gone), is removed by the server. */
const abandonedAfterMs = 60 * 60_000;

/**
 * Step 2's cache (request-context.ts) kept true by the catalog's events
 * instead of its TTL: a tenant's status or region change reaches the
 * directory cache of every gateway of every region as soon as that gateway
 * consumes it, so a suspended tenant is refused there from then on. The cached
 * entry takes the event's values rather than being dropped, so the next
 * request does not read a catalog replica that may not have replayed the
 * change yet. Product changes need nothing here: no gateway caches products,
 * and a response's ETag is the hash of its body, so a changed product
 * changes it.
 */
export async function startDirectoryInvalidation({ bus, settings, region, directory, instance = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`, registry, onApplied }: DirectoryEventsOptions): Promise<RunningDirectoryEvents> {
  await bus.ensureStreams(streamsOf(layoutOf(settings, [region])));
  const consumer = await startConsumer({
    bus,
    prefix: settings.prefix,
    region,
    name: `gateway-${region}-${instance}`.replace(/[^A-Za-z0-9_-]/g, '_'),
    stream: globalStream(settings.prefix),
    // A cache starts empty: what happened before this process started is already in what it will look up.
    startAt: 'new',
    inactiveThresholdMs: abandonedAfterMs,
    maxAttempts: settings.maxAttempts,
    ...(registry ? { registry } : {}),
    async handle(event) {
      if (event.type === 'catalog.tenant.status-changed') {
        const { tenantId, region: home, status } = event.data as { tenantId: string; region: string; status: 'active' | 'suspended' };
        const served = directory();
        if (served && isInvalidatable(served)) served.invalidate(tenantId, { region: home, status });
      }
      onApplied?.(event);
    },
  });
  return { stop: () => consumer.stop() };
}

/**
 * `npm run gateway`'s events: the bus of GEOFED_NATS_URL (or the process's
 * in-process bus) and the directory's consumer on it; `stop()` closes both.
 */
export async function startGatewayEvents(options: Omit<DirectoryEventsOptions, 'bus'>): Promise<RunningDirectoryEvents> {
  const bus = await openEventBus(options.settings, `gateway-${options.region}`);
  try {
    const running = await startDirectoryInvalidation({ ...options, bus });
    return {
      async stop() {
        await running.stop();
        await bus.close();
      },
    };
  } catch (error) {
    await bus.close();
    throw error;
  }
}

function isInvalidatable(directory: TenantDirectory): directory is CachedTenantDirectory {
  return typeof (directory as Partial<CachedTenantDirectory>).invalidate === 'function';
}
