import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import { deadLetterSubject } from '../../protocol/event-routing.js';
import type { EventEnvelope } from '../../protocol/events.js';
import { describeError } from '../error-report.js';
import { logger } from '../logger.js';
import { registeredMetric } from '../registered-metric.js';
import { decodeJson, encodeJson, type BusMessage, type EventBus, type Subscription } from './bus.js';
import type { DeadLetter } from './dead-letters.js';

export interface ConsumerOptions {
  readonly bus: EventBus;
  /** The deployment's subject prefix (GEOFED_EVENTS_PREFIX). */
  readonly prefix: string;
  /** The region the consumer runs in: its dead letters stay there. */
  readonly region: string;
  /** Its durable name on the stream: letters, digits, `_` and `-`; a consumer started again under it resumes there. */
  readonly name: string;
  readonly stream: string;
  /** The effect. It may run again for an event after a crash: it must be idempotent by `event.id`. */
  readonly handle: (event: EventEnvelope) => Promise<void>;
  /** Attempts of one event before it is dead-lettered (GEOFED_EVENTS_MAX_ATTEMPTS). @default defaultEventMaxAttempts */
  readonly maxAttempts?: number;
  /** The wait after failed attempt `n` (1-based). @default 100 ms doubling, at most 10 s */
  readonly retryDelayMs?: (attempt: number) => number;
  /** @default kept */
  readonly inactiveThresholdMs?: number;
  /** A consumer created now starts at the stream's first event, or at the next one (a cache's, which starts empty). @default 'all' */
  readonly startAt?: 'all' | 'new';
  /** Counts outcomes and dead letters (`geofed_events_*`) on `/metrics`. */
  readonly registry?: Registry;
}

export interface RunningConsumer {
  /** Events whose effect ran, and events dead-lettered, since the start. */
  readonly counts: { readonly handled: number; readonly duplicates: number; readonly deadLettered: number };
  /** Stops taking events; those in hand and not handled are delivered again to the next consumer of the name. */
  stop(): Promise<void>;
}

/** GEOFED_EVENTS_MAX_ATTEMPTS when unset. */
export const defaultEventMaxAttempts = 5;

const defaultRetryDelay = (attempt: number) => Math.min(100 * 2 ** (attempt - 1), 10_000);

/** An event not acknowledged by then is delivered again; events in hand are kept alive well within it. */
const ackWaitMs = 30_000;
/** Events in hand at once, across entities. */
const maxAckPending = 256;
/** Ids of handled events remembered, so that a redelivery changes nothing. */
const rememberedIds = 10_000;

/**
 * A durable consumer of one stream with the guarantees of docs/events.md:
 * one entity's events (one subject each) are handled one at a time, in
 * stream order, while other entities' go on; an event is acknowledged after
 * its effect, and one already handled is acknowledged without running again.
 * A failing event is tried `maxAttempts` times, then written to the region's
 * dead-letter stream with where it sat, and the entity's next events go on.
 */
export async function startConsumer(options: ConsumerOptions): Promise<RunningConsumer> {
  const { bus, prefix, region, name, stream, handle, maxAttempts = defaultEventMaxAttempts, retryDelayMs = defaultRetryDelay } = options;
  const log = logger.child({ consumer: name, region });
  const handledIds = new LRUCache<string, true>({ max: rememberedIds });
  const chains = new Map<string, Promise<void>>();
  const inHand = new Set<BusMessage>();
  const counts = { handled: 0, duplicates: 0, deadLettered: 0 };
  const stopping = new AbortController();
  const metrics = options.registry ? consumerMetrics(options.registry) : undefined;

  // Events waiting behind their entity's earlier ones are in hand too: none is delivered again while it waits.
  const keepAlive = setInterval(() => inHand.forEach((m) => m.working()), Math.max(ackWaitMs / 3, 50));
  keepAlive.unref();

  async function deadLetter(message: BusMessage, event: EventEnvelope | null, attempts: number, error: unknown) {
    const entry: DeadLetter = {
      consumer: name,
      region,
      stream,
      streamSeq: message.seq,
      subject: message.subject,
      attempts,
      // Kept in the consumer's region with the event: what an operator needs to fix the cause before a replay.
      error: (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500),
      deadAt: new Date().toISOString(),
      event,
      ...(event ? {} : { raw: new TextDecoder().decode(message.data) }),
    };
    await bus.publish(deadLetterSubject(prefix, region, name, message.subject), encodeJson(entry), `dlq:${name}:${stream}:${message.seq}`);
    counts.deadLettered += 1;
    metrics?.deadLetters.inc({ consumer: name });
    log.error({ event_id: event?.id, event_type: event?.type, stream_seq: message.seq, attempts }, 'event dead-lettered; the entity\'s later events go on');
  }

  async function process(message: BusMessage): Promise<void> {
    let event: EventEnvelope;
    try {
      event = decodeJson<EventEnvelope>(message.data);
      if (typeof event.id !== 'string' || typeof event.type !== 'string') throw new Error('not an event envelope');
    } catch (error) {
      // Nothing can make an unreadable message readable: it is dead-lettered at once.
      await deadLetter(message, null, 1, error);
      message.term();
      return;
    }
    if ((event.replayFor !== undefined && event.replayFor !== name) || (event.replayFor === undefined && handledIds.has(event.id))) {
      counts.duplicates += 1;
      metrics?.outcomes.inc({ consumer: name, outcome: 'duplicate' });
      message.ack();
      return;
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        await handle(event);
        handledIds.set(event.id, true);
        counts.handled += 1;
        metrics?.outcomes.inc({ consumer: name, outcome: 'handled' });
        message.ack();
        return;
      } catch (error) {
        metrics?.outcomes.inc({ consumer: name, outcome: 'failed' });
        if (attempt >= maxAttempts) {
          await deadLetter(message, event, attempt, error);
          message.term();
          return;
        }
        log.warn({ event_id: event.id, event_type: event.type, attempt, error: describeError(error) }, 'event handler failed; trying again');
        if (!(await wait(retryDelayMs(attempt), stopping.signal))) return;
      }
    }
  }

  const onMessage = (message: BusMessage) => {
    inHand.add(message);
    const previous = chains.get(message.subject) ?? Promise.resolve();
    const next = previous
      .then(() => (stopping.signal.aborted ? undefined : process(message)))
      .catch((error: unknown) => {
        // Dead-lettering itself failed (the bus is away): the event stays unacknowledged and comes back.
        log.error({ error: describeError(error), stream_seq: message.seq }, 'event left unacknowledged');
        message.nak(retryDelayMs(1));
      })
      .finally(() => {
        inHand.delete(message);
        if (chains.get(message.subject) === next) chains.delete(message.subject);
      });
    chains.set(message.subject, next);
  };

  const subscription: Subscription = await bus.subscribe(
    { stream, durable: name, ackWaitMs, maxAckPending, ...(options.inactiveThresholdMs ? { inactiveThresholdMs: options.inactiveThresholdMs } : {}), ...(options.startAt ? { startAt: options.startAt } : {}) },
    onMessage,
  );
  return {
    counts,
    async stop() {
      await subscription.stop();
      stopping.abort();
      await Promise.allSettled([...chains.values()]);
      clearInterval(keepAlive);
    },
  };
}

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function consumerMetrics(registry: Registry) {
  return {
    outcomes: registeredMetric(registry, 'geofed_events_consumed_total', () => new Counter({ name: 'geofed_events_consumed_total', help: 'Events a consumer took, by outcome: handled, duplicate (handled before), failed (an attempt that will be tried again or dead-lettered).', labelNames: ['consumer', 'outcome'], registers: [registry] })),
    deadLetters: registeredMetric(registry, 'geofed_events_dead_letters_total', () => new Counter({ name: 'geofed_events_dead_letters_total', help: 'Events a consumer gave up on and wrote to its region\'s dead-letter stream (npx geofed events dlq list).', labelNames: ['consumer'], registers: [registry] })),
  };
}
