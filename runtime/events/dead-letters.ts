import { deadLetterStream, regionOfSubject } from '../../protocol/event-routing.js';
import type { EventEnvelope } from '../../protocol/events.js';
import { decodeJson, encodeJson, type EventBus } from './bus.js';

/**
 * An event a consumer gave up on, in the dead-letter stream of the
 * consumer's region. `stream` and `streamSeq` record the gap: the entity's
 * later events were handled without it.
 */
export interface DeadLetter {
  readonly consumer: string;
  readonly region: string;
  readonly stream: string;
  readonly streamSeq: number;
  /** The event's subject: its entity. */
  readonly subject: string;
  readonly attempts: number;
  /** The last failure, as the handler threw it. */
  readonly error: string;
  readonly deadAt: string;
  /** Null when the message was no readable event (`raw` holds it then). */
  readonly event: EventEnvelope | null;
  readonly raw?: string;
}

export interface ListedDeadLetter extends DeadLetter {
  /** Its sequence in the dead-letter stream: the id `geofed events dlq replay` takes. */
  readonly id: number;
}

/** The dead letters of a region, oldest first. */
export async function listDeadLetters(bus: EventBus, prefix: string, region: string, limit = 1_000): Promise<ListedDeadLetter[]> {
  const messages = await bus.read(deadLetterStream(prefix, region), 1, limit);
  return messages.map((m) => ({ id: m.seq, ...decodeJson<DeadLetter>(m.data) }));
}

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
}

/**
 * Publishes a dead letter's event again, on its own subject, for the consumer
 * that gave up on it only (`replayFor`): the others handled it already. Its
 * message id names the dead letter, so a replay run twice is stored once. A
 * regional event is replayed to its own region's stream only.
 */
export async function replayDeadLetter(bus: EventBus, prefix: string, region: string, id: number): Promise<{ readonly event: EventEnvelope; readonly stream: string; readonly duplicate: boolean }> {
  const stream = deadLetterStream(prefix, region);
  const stored = await bus.get(stream, id);
  if (!stored) throw new ReplayError(`no dead letter ${id} in ${stream}`);
  const entry = decodeJson<DeadLetter>(stored.data);
  if (!entry.event) throw new ReplayError(`dead letter ${id} holds no readable event: nothing to replay`);
  const home = regionOfSubject(entry.subject, prefix);
  if (home === undefined || (home !== null && home !== region)) throw new ReplayError(`dead letter ${id} names subject ${entry.subject}, which is not an event subject of region "${region}"`);
  const event: EventEnvelope = { ...entry.event, replayFor: entry.consumer };
  const ack = await bus.publish(entry.subject, encodeJson(event), `replay:${stream}:${id}`);
  return { event, stream: ack.stream, duplicate: ack.duplicate };
}
