import { settle, type BucketDebit, type BucketStore, type DebitResult } from './store.js';

/** Buckets in this process: right for one gateway; several gateways need the Upstash store. */
export function memoryBucketStore(now: () => number = Date.now): BucketStore {
  const buckets = new Map<string, { tokens: number; updatedMs: number }>();
  return {
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
