import { LRUCache } from 'lru-cache';
import { settle, type BucketDebit, type BucketStore, type DebitResult } from './store.js';

/** `memory.rate_limit_buckets`: one bucket per anonymous client key and region, and per tenant and region; some 300 bytes each. */
export const defaultMemoryBuckets = 100_000;

export interface MemoryBucketStoreOptions {
  /** Most buckets kept, the least recently debited forgotten first (`memory.rate_limit_buckets`). @default defaultMemoryBuckets */
  readonly maxBuckets?: number;
}

/**
 * Buckets in this process: right for one gateway; several gateways need the Upstash store.
 * A bounded LRU: a flood of distinct client keys forgets the buckets debited
 * longest ago, and a forgotten bucket is full again at its next debit.
 */
export function memoryBucketStore(now: () => number = Date.now, { maxBuckets = defaultMemoryBuckets }: MemoryBucketStoreOptions = {}): BucketStore & { readonly size: number } {
  const buckets = new LRUCache<string, { tokens: number; updatedMs: number }>({ max: maxBuckets });
  return {
    /** Buckets held now (at most maxBuckets). */
    get size() {
      return buckets.size;
    },
    async debit(debits: readonly BucketDebit[]): Promise<DebitResult> {
      const at = now();
      const available = debits.map((debit) => {
        const state = buckets.get(debit.key);
        if (!state) return debit.capacity;
        return Math.min(debit.capacity, state.tokens + ((at - state.updatedMs) * debit.refillPerSecond) / 1000);
      });
      const result = settle(debits, available);
      if (result.allowed) debits.forEach((debit, i) => buckets.set(debit.key, { tokens: available[i]! - debit.cost, updatedMs: at }));
      return result;
    },
    async close() {
      buckets.clear();
    },
  };
}
