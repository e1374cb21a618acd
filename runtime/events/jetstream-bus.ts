import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerMessages, type JsMsg, type StreamInfo } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { StreamSpec } from '../../protocol/event-routing.js';
import type { BusMessage, EventBus, StoredMessage, StreamState, Subscription } from './bus.js';

const nanos = (ms: number) => Math.round(ms * 1_000_000);

/** A connection not made by then fails: the process says so instead of waiting. */
const connectTimeoutMs = 2_000;

export interface JetStreamOptions {
  /** `nats://host:port`, or several separated by commas (GEOFED_NATS_URL). */
  readonly url: string;
  /** Names this process on the server's connection list. */
  readonly name?: string;
}

/**
 * The bus on a NATS server with JetStream (`@nats-io/jetstream`): file-backed
 * streams with a duplicate window, durable pull consumers with explicit
 * acknowledgement. The client reconnects by itself; a publish while the
 * server is away fails, and the relay tries it again.
 */
export async function jetStreamBus({ url, name = 'geofed' }: JetStreamOptions): Promise<EventBus> {
  const nc = await connect({ servers: url.split(',').map((s) => s.trim()), timeout: connectTimeoutMs, name, maxReconnectAttempts: -1 });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const consuming = new Set<ConsumerMessages>();

  const stored = (stream: string, m: { seq: number; subject: string; data: Uint8Array; time: Date }): StoredMessage => ({ stream, seq: m.seq, subject: m.subject, data: m.data, time: m.time });
  const stateOf = (info: StreamInfo): StreamState => ({ name: info.config.name, subjects: info.config.subjects ?? [], messages: info.state.messages, firstSeq: info.state.first_seq, lastSeq: info.state.last_seq });

  async function get(stream: string, seq: number): Promise<StoredMessage | null> {
    try {
      const message = await jsm.streams.getMessage(stream, { seq });
      return message ? stored(stream, message) : null;
    } catch (error) {
      // A sequence removed (or never stored) is no message, not a failure.
      if (/no message found/i.test((error as Error).message)) return null;
      throw error;
    }
  }

  return {
    kind: 'jetstream',
    async ensureStreams(specs: readonly StreamSpec[]) {
      for (const spec of specs) {
        const config = { name: spec.name, subjects: [...spec.subjects], duplicate_window: nanos(spec.duplicateWindowMs), storage: StorageType.File, retention: RetentionPolicy.Limits };
        const existing = await jsm.streams.info(spec.name).catch(() => undefined);
        if (!existing) {
          await jsm.streams.add(config);
        } else if (existing.config.duplicate_window !== config.duplicate_window || existing.config.subjects?.join() !== config.subjects.join()) {
          await jsm.streams.update(spec.name, { subjects: config.subjects, duplicate_window: config.duplicate_window });
        }
      }
    },
    async publish(subject, data, msgId) {
      const ack = await js.publish(subject, data, { msgID: msgId });
      return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
    },
    async subscribe(spec, onMessage): Promise<Subscription> {
      const config = {
        durable_name: spec.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: spec.startAt === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
        ack_wait: nanos(spec.ackWaitMs),
        max_ack_pending: spec.maxAckPending,
        // The consumer counts its own attempts and dead-letters (consumer.ts): the server never drops a message for it.
        max_deliver: -1,
        ...(spec.inactiveThresholdMs ? { inactive_threshold: nanos(spec.inactiveThresholdMs) } : {}),
      };
      const existing = await jsm.consumers.info(spec.stream, spec.durable).catch(() => undefined);
      if (!existing) await jsm.consumers.add(spec.stream, config);
      else await jsm.consumers.update(spec.stream, spec.durable, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending, ...(spec.inactiveThresholdMs ? { inactive_threshold: config.inactive_threshold } : {}) });
      const consumer = await js.consumers.get(spec.stream, spec.durable);
      const messages = await consumer.consume({
        max_messages: spec.maxAckPending,
        callback: (m: JsMsg) => onMessage(busMessage(m)),
      });
      consuming.add(messages);
      return {
        async stop() {
          consuming.delete(messages);
          await messages.close();
        },
      };
    },
    async streams(namePrefix) {
      const states: StreamState[] = [];
      for await (const info of jsm.streams.list()) if (info.config.name.startsWith(namePrefix)) states.push(stateOf(info));
      return states;
    },
    async read(stream, fromSeq = 1, limit = 1_000) {
      const info = await jsm.streams.info(stream);
      const messages: StoredMessage[] = [];
      for (let seq = Math.max(fromSeq, info.state.first_seq); seq <= info.state.last_seq && messages.length < limit; seq += 1) {
        const message = await get(stream, seq);
        if (message) messages.push(message);
      }
      return messages;
    },
    get,
    async deleteStream(name) {
      await jsm.streams.delete(name).catch((error: Error) => {
        if (!/stream not found/i.test(error.message)) throw error;
      });
    },
    async close() {
      await Promise.allSettled([...consuming].map((m) => m.close()));
      await nc.drain().catch(() => nc.close());
    },
  };
}

function busMessage(m: JsMsg): BusMessage {
  return {
    subject: m.subject,
    data: m.data,
    seq: m.seq,
    deliveries: m.info.deliveryCount,
    ack: () => m.ack(),
    nak: (delayMs) => m.nak(delayMs),
    working: () => m.working(),
    term: () => m.term(),
  };
}
