import { z } from 'zod';
import { prefixPattern, type StreamLayout } from '../../protocol/event-routing.js';
import { StartupError } from '../process.js';
import { parseSettings, setVariables } from '../settings.js';
import type { EventBus } from './bus.js';
import { defaultEventMaxAttempts } from './consumer.js';
import { processBus } from './memory-bus.js';

const positive = z.coerce.number<string>().int().positive();

/** Every process of a deployment reads the same variables (docs/events.md, docs/configuration.md). */
const variables = z.object({
  /** Unset: the in-process bus, so that `npm start` needs no server. */
  GEOFED_NATS_URL: z.string().regex(/^(nats|tls):\/\/[^\s,]+(,\s*(nats|tls):\/\/[^\s,]+)*$/, 'nats://host:port, or several separated by commas').optional(),
  GEOFED_EVENTS_PREFIX: z.string().regex(prefixPattern, 'lower-case letters, digits, "_" and "-", starting with a letter').default('geofed'),
  /** Longer than the relay's retry horizon (relayRetryMaxMs): a publish retried after a lost acknowledgement is stored once. */
  GEOFED_EVENTS_DUPLICATE_WINDOW_MS: positive.default(10 * 60_000),
  /** Attempts of one event by one consumer before it is dead-lettered. */
  GEOFED_EVENTS_MAX_ATTEMPTS: positive.default(defaultEventMaxAttempts),
  /** How often a relay looks for events its database committed. */
  GEOFED_OUTBOX_POLL_MS: positive.default(100),
}).transform((parsed) => ({
  natsUrl: parsed.GEOFED_NATS_URL,
  prefix: parsed.GEOFED_EVENTS_PREFIX,
  duplicateWindowMs: parsed.GEOFED_EVENTS_DUPLICATE_WINDOW_MS,
  maxAttempts: parsed.GEOFED_EVENTS_MAX_ATTEMPTS,
  pollMs: parsed.GEOFED_OUTBOX_POLL_MS,
}));

export type EventsSettings = z.output<typeof variables>;

/** The longest wait between two tries of a failed publish: the relay's retry horizon, which the duplicate window must exceed. */
export const relayRetryMaxMs = 30_000;

export function eventsSettings(env: NodeJS.ProcessEnv = process.env): EventsSettings {
  const settings = parseSettings(variables, setVariables(env), 'the events settings of the environment');
  if (settings.duplicateWindowMs <= relayRetryMaxMs) {
    throw new StartupError(`GEOFED_EVENTS_DUPLICATE_WINDOW_MS (${settings.duplicateWindowMs}) must be longer than the relay's retry horizon of ${relayRetryMaxMs} ms, or a retried publish could be stored twice`);
  }
  return settings;
}

export function layoutOf(settings: EventsSettings, regions: readonly string[]): StreamLayout {
  return { prefix: settings.prefix, regions, duplicateWindowMs: settings.duplicateWindowMs };
}

/** A NATS server that cannot be reached at start: a user's fix, said in one line. */
export class EventBusUnavailableError extends StartupError {
  override readonly name = 'EventBusUnavailableError';
}

/**
 * JetStream at GEOFED_NATS_URL (a connection of the caller's, closed by its
 * `close()`), or the process's in-process bus. The NATS client is loaded
 * only for a process that uses it.
 */
export async function openEventBus(settings: EventsSettings, name?: string): Promise<EventBus> {
  if (settings.natsUrl === undefined) return processBus();
  const { jetStreamBus } = await import('./jetstream-bus.js');
  try {
    return await jetStreamBus({ url: settings.natsUrl, ...(name ? { name } : {}) });
  } catch (error) {
    throw new EventBusUnavailableError(`cannot connect to NATS at ${settings.natsUrl} (GEOFED_NATS_URL): ${(error as Error).message}`);
  }
}
