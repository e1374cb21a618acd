import type { EventBus } from '../runtime/events/bus.js';
import { eventsSettings, openEventBus } from '../runtime/events/settings.js';
import { loadEvents, type DatabaseHandle } from '../subgraphs/index.js';

export interface StackEventsOptions {
  /** The stack's databases: `catalog` (the primary) and one per region. */
  readonly handles: ReadonlyMap<string, DatabaseHandle>;
  readonly regions: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

export interface RunningStackEvents {
  readonly bus: EventBus;
  stop(): Promise<void>;
}

/**
 * The subgraphs' side of the events of a stack in one process
 * (docs/events.md): the relay of every database and each region's webhooks,
 * on the bus of GEOFED_NATS_URL, else on the process's in-process bus, which
 * the gateways of the same process consume too.
 */
export async function startStackEvents({ handles, regions, env }: StackEventsOptions): Promise<RunningStackEvents> {
  const settings = eventsSettings(env);
  const [bus, { startDatabaseRelay, startWebhookWorkers, webhookSettings }] = await Promise.all([openEventBus(settings, 'geofed-dev'), loadEvents()]);
  const running: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    await Promise.allSettled(running.splice(0).map((r) => r.stop()));
    await bus.close();
  };
  try {
    const webhooks = webhookSettings(env);
    running.push(startDatabaseRelay({ database: handles.get('catalog')!, scope: 'catalog', region: regions[0]!, bus, settings }));
    for (const region of regions) {
      const database = handles.get(region)!;
      running.push(startDatabaseRelay({ database, scope: 'regional', region, bus, settings }));
      running.push(await startWebhookWorkers({ database, region, bus, settings, webhooks }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { bus, stop };
}
