// What the outbox relay and the consumers need of a message bus: JetStream (jetstream-bus.ts) when
// GEOFED_NATS_URL is set, the in-process bus (memory-bus.ts) otherwise. Both keep the same promises:
// a message id seen within the duplicate window is stored once, a durable consumer resumes where it
// was acknowledged, and a message not acknowledged is delivered again.
import type { StreamSpec } from '../../protocol/event-routing.js';

export interface PublishAck {
  readonly stream: string;
  /** The message's sequence in its stream. */
  readonly seq: number;
  /** The id was seen within the duplicate window: nothing new was stored. */
  readonly duplicate: boolean;
}

/** A delivered message; it is delivered again until acknowledged (`ack`) or given up on (`term`). */
export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Its sequence in the stream. */
  readonly seq: number;
  /** 1 on first delivery. */
  readonly deliveries: number;
  ack(): void;
  /** Deliver again after `delayMs`. */
  nak(delayMs?: number): void;
  /** Still being handled: restarts the acknowledgement deadline. */
  working(): void;
  /** Never deliver again. */
  term(): void;
}

export interface ConsumerSpec {
  readonly stream: string;
  /** The durable name: a consumer started again under it resumes after its last acknowledged message. */
  readonly durable: string;
  /** A message not acknowledged by then is delivered again. */
  readonly ackWaitMs: number;
  /** Messages delivered and not yet acknowledged, at most. */
  readonly maxAckPending: number;
  /** A durable consumer idle this long is removed by the server. @default kept */
  readonly inactiveThresholdMs?: number;
  /** Where a durable consumer created now starts: the stream's first message, or the next one published. @default 'all' */
  readonly startAt?: 'all' | 'new';
}

export interface Subscription {
  /** Stops delivering; messages not yet acknowledged are delivered again to the next consumer of the durable name. */
  stop(): Promise<void>;
}

export interface StoredMessage {
  readonly stream: string;
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly time: Date;
}

export interface StreamState {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly messages: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export interface EventBus {
  readonly kind: 'jetstream' | 'memory';
  /** Creates the streams that are missing, and updates the subjects and duplicate window of those that differ. */
  ensureStreams(specs: readonly StreamSpec[]): Promise<void>;
  /** Stores `data` on the stream of `subject`; a subject no stream holds is an error, never a message lost quietly. */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<PublishAck>;
  subscribe(spec: ConsumerSpec, onMessage: (message: BusMessage) => void): Promise<Subscription>;
  /** Every stream whose name starts with `namePrefix`. */
  streams(namePrefix: string): Promise<StreamState[]>;
  /** Up to `limit` messages of a stream from `fromSeq` on, oldest first. */
  read(stream: string, fromSeq?: number, limit?: number): Promise<StoredMessage[]>;
  /** One message by its sequence, or null when the stream has none there. */
  get(stream: string, seq: number): Promise<StoredMessage | null>;
  deleteStream(name: string): Promise<void>;
  close(): Promise<void>;
}

export const encodeJson = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
export const decodeJson = <T>(data: Uint8Array): T => JSON.parse(new TextDecoder().decode(data)) as T;

/** Whether `subject` matches a NATS pattern: `*` one token, a final `>` one or more. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const have = subject.split('.');
  for (let i = 0; i < want.length; i += 1) {
    if (want[i] === '>') return i === want.length - 1 && have.length > i;
    if (i >= have.length || (want[i] !== '*' && want[i] !== have[i])) return false;
  }
  return want.length === have.length;
}
