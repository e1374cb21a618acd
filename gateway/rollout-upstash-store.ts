import { Redis } from '@upstash/redis';
import type { RolloutEntry, RolloutKey } from './rollout-state.js';
import { addCounts, emptyCounts, type RolloutStore, type SideCounts } from './rollout-store.js';

export interface UpstashRolloutOptions {
  readonly url: string;
  readonly token: string;
  /** `rollout.key_prefix`. */
  readonly keyPrefix: string;
  /** Every request is aborted after this: a store that does not answer leaves the last state serving. */
  readonly timeoutMs: number;
}

/** Sets field ARGV[1] of hash KEYS[1] to ARGV[3] if the entry there has revision ARGV[2] (0: none). */
const compareAndSet = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
local revision = 0
if current then revision = cjson.decode(current).revision end
if revision ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`;

/**
 * The rollout state in the shared Upstash Redis: every gateway of every region reads it, and it outlives them.
 * `<prefix>:state` is one hash of the entries (`eu/users` → JSON); each slot of a rollout side's counts is a
 * hash of its own (`requests`, `errors`, `l<bucket>`), expiring after the window, to which every gateway adds
 * with HINCRBY, so that the guard of any gateway judges the region's requests, not its own.
 */
export function upstashRolloutStore({ url, token, keyPrefix, timeoutMs }: UpstashRolloutOptions): RolloutStore {
  const redis = new Redis({ url, token, retry: { retries: 0 }, enableTelemetry: false, automaticDeserialization: false, signal: () => AbortSignal.timeout(timeoutMs) });
  const stateKey = `${keyPrefix}:state`;
  const countsKey = (key: RolloutKey, revision: number, side: string, slot: number) => `${keyPrefix}:counts:${key}:${revision}:${side}:${slot}`;
  return {
    kind: 'upstash',
    async entries() {
      const fields = fieldsOf(await redis.hgetall(stateKey));
      return new Map(Object.entries(fields).map(([key, json]) => [key as RolloutKey, JSON.parse(json) as RolloutEntry]));
    },
    async write(key, entry, expected) {
      return Number(await redis.eval(compareAndSet, [stateKey], [key, String(expected), JSON.stringify(entry)])) === 1;
    },
    async add(batches, ttlMs) {
      if (batches.length === 0) return;
      const pipeline = redis.pipeline();
      for (const batch of batches) {
        const at = countsKey(batch.key, batch.revision, batch.side, batch.slot);
        pipeline.hincrby(at, 'requests', batch.requests);
        if (batch.errors > 0) pipeline.hincrby(at, 'errors', batch.errors);
        for (const [bucket, count] of Object.entries(batch.latency)) pipeline.hincrby(at, `l${bucket}`, count);
        pipeline.pexpire(at, ttlMs);
      }
      await pipeline.exec();
    },
    async counts(key, revision, side, slots) {
      const total = emptyCounts();
      if (slots.length === 0) return total;
      const pipeline = redis.pipeline();
      for (const slot of slots) pipeline.hgetall(countsKey(key, revision, side, slot));
      for (const reply of await pipeline.exec()) addCounts(total, countsOf(fieldsOf(reply)));
      return total;
    },
    async close() {},
  };
}

/** A hash as HGETALL answers it without the client's deserialization: `[field, value, …]`, or nothing. */
function fieldsOf(reply: unknown): Record<string, string> {
  if (!Array.isArray(reply)) return {};
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = String(reply[i + 1]);
  return fields;
}

function countsOf(fields: Readonly<Record<string, string>>): SideCounts {
  const latency: Record<number, number> = {};
  for (const [name, value] of Object.entries(fields)) if (name.startsWith('l')) latency[Number(name.slice(1))] = Number(value);
  return { requests: Number(fields.requests ?? 0), errors: Number(fields.errors ?? 0), latency };
}
