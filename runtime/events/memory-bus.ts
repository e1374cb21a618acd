import type { StreamSpec } from '../../protocol/event-routing.js';
import { subjectMatches, type BusMessage, type ConsumerSpec, type EventBus, type PublishAck, type StoredMessage, type StreamState, type Subscription } from './bus.js';

interface Stream {
  spec: StreamSpec;
  readonly messages: StoredMessage[];
  lastSeq: number;
  /** Message ids seen within the duplicate window, and the sequence each was stored at. */
  readonly seen: Map<string, { readonly seq: number; readonly at: number }>;
}

interface Durable {
  readonly stream: Stream;
  spec: ConsumerSpec;
  /** The next sequence never delivered. */
  nextSeq: number;
  /** Delivered, not yet acknowledged: the timer that delivers it again. */
  readonly pending: Map<number, NodeJS.Timeout | undefined>;
  /** Due for delivery again, delivered before any new message, lowest sequence first. */
  readonly due: Set<number>;
  readonly deliveries: Map<number, number>;
  onMessage: ((message: BusMessage) => void) | undefined;
  scheduled: boolean;
}

/**
 * The bus of one process, for `npm start` without GEOFED_NATS_URL: the same
 * streams, subjects, duplicate window and durable consumers as JetStream, in
 * memory. Nothing outlives the process; a restarted consumer in the same
 * process resumes where it acknowledged.
 */
export function memoryBus(now: () => number = Date.now): EventBus {
  const streams = new Map<string, Stream>();
  const durables = new Map<string, Durable>();

  const streamOf = (name: string) => {
    const stream = streams.get(name);
    if (!stream) throw new Error(`stream not found: ${name}`);
    return stream;
  };
  const messageAt = (stream: Stream, seq: number) => stream.messages.find((m) => m.seq === seq);

  function schedule(durable: Durable) {
    if (durable.scheduled || !durable.onMessage) return;
    durable.scheduled = true;
    // Delivered on a later turn, as a network delivery is: a handler never runs inside publish().
    setImmediate(() => {
      durable.scheduled = false;
      pump(durable);
    });
  }

  function nextFor(durable: Durable): number | undefined {
    const due = [...durable.due].sort((a, b) => a - b)[0];
    if (due !== undefined) {
      durable.due.delete(due);
      return due;
    }
    const next = durable.stream.messages.find((m) => m.seq >= durable.nextSeq);
    if (!next) return undefined;
    durable.nextSeq = next.seq + 1;
    return next.seq;
  }

  function settle(durable: Durable, seq: number, again: number | undefined) {
    clearTimeout(durable.pending.get(seq));
    durable.pending.delete(seq);
    durable.due.delete(seq);
    if (again === undefined) {
      durable.deliveries.delete(seq);
    } else if (again === 0) {
      durable.due.add(seq);
    } else {
      durable.pending.set(seq, setTimeout(() => settle(durable, seq, 0), again).unref());
    }
    schedule(durable);
  }

  function pump(durable: Durable) {
    while (durable.onMessage && durable.pending.size < durable.spec.maxAckPending) {
      const seq = nextFor(durable);
      if (seq === undefined) return;
      const stored = messageAt(durable.stream, seq);
      if (!stored) continue;
      const deliveries = (durable.deliveries.get(seq) ?? 0) + 1;
      durable.deliveries.set(seq, deliveries);
      const expire = () => setTimeout(() => settle(durable, seq, 0), durable.spec.ackWaitMs).unref();
      durable.pending.set(seq, expire());
      const onMessage = durable.onMessage;
      onMessage({
        subject: stored.subject,
        data: stored.data,
        seq,
        deliveries,
        ack: () => settle(durable, seq, undefined),
        term: () => settle(durable, seq, undefined),
        nak: (delayMs = 0) => settle(durable, seq, delayMs),
        working: () => {
          if (!durable.pending.has(seq)) return;
          clearTimeout(durable.pending.get(seq));
          durable.pending.set(seq, expire());
        },
      });
    }
  }

  return {
    kind: 'memory',
    async ensureStreams(specs) {
      for (const spec of specs) {
        const existing = streams.get(spec.name);
        if (existing) existing.spec = spec;
        else streams.set(spec.name, { spec, messages: [], lastSeq: 0, seen: new Map() });
      }
    },
    async publish(subject, data, msgId): Promise<PublishAck> {
      const stream = [...streams.values()].find((s) => s.spec.subjects.some((pattern) => subjectMatches(pattern, subject)));
      if (!stream) throw new Error(`no stream holds subject ${subject}`);
      const at = now();
      for (const [id, entry] of stream.seen) if (at - entry.at > stream.spec.duplicateWindowMs) stream.seen.delete(id);
      const seen = stream.seen.get(msgId);
      if (seen) return { stream: stream.spec.name, seq: seen.seq, duplicate: true };
      stream.lastSeq += 1;
      stream.messages.push({ stream: stream.spec.name, seq: stream.lastSeq, subject, data, time: new Date(at) });
      stream.seen.set(msgId, { seq: stream.lastSeq, at });
      for (const durable of durables.values()) if (durable.stream === stream) schedule(durable);
      return { stream: stream.spec.name, seq: stream.lastSeq, duplicate: false };
    },
    async subscribe(spec, onMessage): Promise<Subscription> {
      const stream = streamOf(spec.stream);
      const key = `${spec.stream}/${spec.durable}`;
      let durable = durables.get(key);
      if (!durable) {
        durable = { stream, spec, nextSeq: spec.startAt === 'new' ? stream.lastSeq + 1 : 1, pending: new Map(), due: new Set(), deliveries: new Map(), onMessage: undefined, scheduled: false };
        durables.set(key, durable);
      }
      if (durable.onMessage) throw new Error(`consumer ${key} is already being consumed in this process`);
      durable.spec = spec;
      durable.onMessage = onMessage;
      schedule(durable);
      const subscribed = durable;
      return {
        async stop() {
          subscribed.onMessage = undefined;
          // What the stopped subscriber did not acknowledge goes to the next one at once.
          for (const [seq, timer] of subscribed.pending) {
            clearTimeout(timer);
            subscribed.due.add(seq);
          }
          subscribed.pending.clear();
        },
      };
    },
    async streams(namePrefix): Promise<StreamState[]> {
      return [...streams.values()]
        .filter((s) => s.spec.name.startsWith(namePrefix))
        .map((s) => ({ name: s.spec.name, subjects: [...s.spec.subjects], messages: s.messages.length, firstSeq: s.messages[0]?.seq ?? 0, lastSeq: s.lastSeq }));
    },
    async read(name, fromSeq = 1, limit = 1_000) {
      return streamOf(name).messages.filter((m) => m.seq >= fromSeq).slice(0, limit);
    },
    async get(name, seq) {
      return messageAt(streamOf(name), seq) ?? null;
    },
    async deleteStream(name) {
      streams.delete(name);
      for (const [key, durable] of durables) {
        if (durable.stream.spec.name !== name) continue;
        for (const timer of durable.pending.values()) clearTimeout(timer);
        durables.delete(key);
      }
    },
    async close() {},
  };
}

let shared: EventBus | undefined;

/** The one in-process bus of this process: the subgraphs and gateways `npm start` runs side by side share it. */
export function processBus(): EventBus {
  shared ??= memoryBus();
  return shared;
}
