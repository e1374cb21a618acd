import { LRUCache } from 'lru-cache';
import { settleDebits, type BucketDebit, type DebitResult } from './store.js';

export interface LocalBudgetsOptions {
  /** How many gateways share each bucket (`rate_limits.gateways`): this one's share is 1/gateways of it. */
  readonly gateways: number;
  /** How many buckets are remembered (`rate_limits.fallback_buckets`); the least recently used is forgotten first. */
  readonly maxBuckets: number;
  readonly now?: () => number;
}

/**
 * This gateway's share of each bucket, spent only while the shared store
 * cannot answer (`on_store_error: open`). A share holds at most
 * capacity / gateways and refills at refill_per_second / gateways. Every
 * answer of the store (in time or late) lowers it to (what the store said was
 * left) / gateways, and nothing but its own refill ever raises it, so a share
 * starts no fuller than its part of what this gateway last saw (a bucket
 * never seen: capacity / gateways) and a bucket last seen empty is still
 * empty here until it has refilled.
 *
 * The bound (docs/cost-and-rate-limits.md, "The bound on overspend"): over
 * any stretch of T seconds, the local shares of all G gateways admit at most
 * Σ_g s_g / G + refill × T, where s_g is what gateway g last saw left plus the
 * refill since, at most capacity (capacity for a bucket it never saw). With
 * refill 0 that is the mean of what they saw, at most one capacity.
 */
export interface LocalBudgets {
  /** The store answered: each bucket's share drops to its part of what is left, if that is less. */
  observe(debits: readonly BucketDebit[], result: DebitResult): void;
  /** The store could not answer: debits this gateway's share of every bucket, all or nothing. */
  debit(debits: readonly BucketDebit[]): DebitResult;
  /** The buckets remembered. */
  readonly size: number;
}

interface Share {
  /** Tokens of this gateway's share at `atMs` (before refill since then). */
  readonly tokens: number;
  readonly atMs: number;
}

export function localBudgets({ gateways, maxBuckets, now = Date.now }: LocalBudgetsOptions): LocalBudgets {
  const shares = new LRUCache<string, Share>({ max: maxBuckets });
  /** The bucket as this gateway's share of it: capacity, refill and what it holds at `at`. */
  const shareOf = (debit: BucketDebit, at: number): BucketDebit & { readonly tokens: number } => {
    const capacity = debit.capacity / gateways;
    const refillPerSecond = debit.refillPerSecond / gateways;
    const known = shares.get(debit.key);
    // A clock that went back refills nothing.
    const tokens = known ? Math.min(capacity, known.tokens + (Math.max(0, at - known.atMs) * refillPerSecond) / 1000) : capacity;
    return { key: debit.key, capacity, refillPerSecond, cost: debit.cost, tokens };
  };
  return {
    observe(debits, result) {
      const at = now();
      debits.forEach((debit, i) => {
        const left = result.buckets[i]?.remaining;
        if (left === undefined) return;
        const share = shareOf(debit, at);
        shares.set(debit.key, { tokens: Math.min(share.tokens, Math.max(0, left) / gateways), atMs: at });
      });
    },
    debit(debits) {
      const at = now();
      const local = debits.map((debit) => shareOf(debit, at));
      const result = settleDebits(local, local.map((share) => share.tokens));
      local.forEach((share) => shares.set(share.key, { tokens: result.allowed ? share.tokens - share.cost : share.tokens, atMs: at }));
      return result;
    },
    get size() {
      return shares.size;
    },
  };
}
