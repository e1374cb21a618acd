import { LRUCache } from 'lru-cache';
import { settleDebits, type BucketDebit, type BucketStore, type DebitResult } from './store.js';

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
      const result = settleDebits(debits, available);
      if (result.allowed) debits.forEach((debit, i) => buckets.set(debit.key, { tokens: available[i]! - debit.cost, updatedMs: at }));
      return result;
    },
    async close() {
      buckets.clear();
    },
  };
}

/**
 * The memory store of a gateway process, kept across hot reloads: a reload
 * builds the request path anew, and must not hand every tenant a full budget.
 * Each pipeline gets the same buckets (its close leaves them); a new
 * `memory.rate_limit_buckets` starts them afresh at that bound.
 */
export function keptMemoryBucketStore(now: () => number = Date.now): (maxBuckets: number) => BucketStore & { readonly size: number } {
  let kept: { readonly maxBuckets: number; readonly store: ReturnType<typeof memoryBucketStore> } | undefined;
  return (maxBuckets) => {
    if (kept?.maxBuckets !== maxBuckets) kept = { maxBuckets, store: memoryBucketStore(now, { maxBuckets }) };
    const { store } = kept;
    return {
      get size() {
        return store.size;
      },
      debit: (debits) => store.debit(debits),
      close: async () => undefined,
    };
  };
}
