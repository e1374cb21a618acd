import { LRUCache } from 'lru-cache';

/** Where a receiver remembers the nonces of the signed requests it accepted, for the signature window. */
export interface NonceStore {
  /** True the first time a nonce is seen within `ttlMs`; false for a replay. */
  claim(nonce: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * `memory.hop_nonces`: the most nonces one process remembers, a minute's worth of signed requests
 * at several thousand a second. Past it the oldest are forgotten first, so a
 * replay of a request older than that many newer ones would pass: the bound
 * keeps a flood from growing memory without limit.
 */
export const maxRememberedNonces = 250_000;

/** One process's memory. */
export function memoryNonceStore(max = maxRememberedNonces): NonceStore & { readonly size: number } {
  // Bounded by weight (one a nonce), not by `max`: with `max` lru-cache allocates and fills six arrays of that
  // length up front, tens of milliseconds and megabytes a store, and `npm start` holds thirteen stores.
  const seen = new LRUCache<string, true>({ maxSize: max, sizeCalculation: () => 1 });
  return {
    /** Nonces remembered now (at most max). */
    get size() {
      return seen.size;
    },
    async claim(nonce, ttlMs) {
      if (seen.has(nonce)) return false;
      seen.set(nonce, true, { ttl: ttlMs });
      return true;
    },
    async close() {
      seen.clear();
    },
  };
}
