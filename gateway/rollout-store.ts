import type { RolloutEntry, RolloutKey } from './rollout-state.js';

/** The two sides of a canary. */
export type Side = 'stable' | 'canary';

/** What one side served in a slot of the window: requests, the failed ones, and a latency histogram. */
export interface SideCounts {
  readonly requests: number;
  readonly errors: number;
  /** Requests by latency bucket (rollout-guard.ts, `latencyBucket`). */
  readonly latency: Readonly<Record<number, number>>;
}

/** One gateway's counts of one side of one rollout (its key and revision) in one slot of time. */
export interface CountBatch extends SideCounts {
  readonly key: RolloutKey;
  readonly revision: number;
  readonly side: Side;
  /** `floor(time / slot length)`. */
  readonly slot: number;
}

/**
 * The live rollout state of every region and what the region's gateways counted, shared by them all (the
 * shared Upstash Redis), or one process's own (memory). A write is a compare-and-set on the entry's revision,
 * so that the guard's rollback and an operator's command never overwrite each other unseen.
 */
export interface RolloutStore {
  /** Where the state lives, for logs and `rollout status`. */
  readonly kind: 'memory' | 'upstash';
  /** Every entry written by a command or the guard. */
  entries(): Promise<Map<RolloutKey, RolloutEntry>>;
  /** Writes `entry` if the stored one's revision is still `expected` (0: none stored); false if another write came first. */
  write(key: RolloutKey, entry: RolloutEntry, expected: number): Promise<boolean>;
  /** Adds one gateway's counts; each slot is kept `ttlMs`. */
  add(batches: readonly CountBatch[], ttlMs: number): Promise<void>;
  /** Every gateway's counts of one side of a rollout, the slots given together. */
  counts(key: RolloutKey, revision: number, side: Side, slots: readonly number[]): Promise<SideCounts>;
  close(): Promise<void>;
}

export function emptyCounts(): { requests: number; errors: number; latency: Record<number, number> } {
  return { requests: 0, errors: 0, latency: {} };
}

/** Adds `more` into `into`. */
export function addCounts(into: { requests: number; errors: number; latency: Record<number, number> }, more: SideCounts): void {
  into.requests += more.requests;
  into.errors += more.errors;
  for (const [bucket, count] of Object.entries(more.latency)) into.latency[Number(bucket)] = (into.latency[Number(bucket)] ?? 0) + count;
}

const slotKey = (key: RolloutKey, revision: number, side: Side, slot: number) => `${key}|${revision}|${side}|${slot}`;

/** One process's state: every gateway in it shares it; it is gone when the process stops. */
export function memoryRolloutStore(): RolloutStore {
  const entries = new Map<RolloutKey, RolloutEntry>();
  const slots = new Map<string, { counts: ReturnType<typeof emptyCounts>; expiresAt: number }>();
  return {
    kind: 'memory',
    async entries() {
      return new Map(entries);
    },
    async write(key, entry, expected) {
      if ((entries.get(key)?.revision ?? 0) !== expected) return false;
      entries.set(key, entry);
      return true;
    },
    async add(batches, ttlMs) {
      const at = Date.now();
      for (const [id, slot] of slots) if (slot.expiresAt <= at) slots.delete(id);
      for (const batch of batches) {
        const id = slotKey(batch.key, batch.revision, batch.side, batch.slot);
        const slot = slots.get(id) ?? { counts: emptyCounts(), expiresAt: at + ttlMs };
        addCounts(slot.counts, batch);
        slots.set(id, slot);
      }
    },
    async counts(key, revision, side, wanted) {
      const total = emptyCounts();
      for (const slot of wanted) {
        const found = slots.get(slotKey(key, revision, side, slot));
        if (found) addCounts(total, found.counts);
      }
      return total;
    },
    async close() {},
  };
}
