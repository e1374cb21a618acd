import { Redis } from '@upstash/redis';
import { LRUCache } from 'lru-cache';

/** Where a home gateway remembers the nonces of the hops it accepted, for the signature window. */
export interface NonceStore {
  /** True the first time a nonce is seen within `ttlMs`; false for a replay. */
  claim(nonce: string, ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The most nonces one process remembers: a window's worth of forwarded requests at a high rate. */
const maxRememberedNonces = 1_000_000;

/** One process's memory: right for one gateway per region. */
export function memoryNonceStore(max = maxRememberedNonces): NonceStore {
  const seen = new LRUCache<string, true>({ max, ttlAutopurge: false });
  return {
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

export interface UpstashNonceOptions {
  readonly url: string;
  readonly token: string;
  readonly keyPrefix: string;
  readonly timeoutMs: number;
}

/**
 * The region's Upstash Redis, shared by every gateway of the region: a hop
 * replayed to another gateway of the same region is refused too. One
 * `SET key 1 NX PX ttl` per hop.
 */
export function upstashNonceStore({ url, token, keyPrefix, timeoutMs }: UpstashNonceOptions): NonceStore {
  const redis = new Redis({ url, token, retry: { retries: 0 }, enableTelemetry: false, signal: () => AbortSignal.timeout(timeoutMs) });
  return {
    async claim(nonce, ttlMs) {
      return (await redis.set(`${keyPrefix}${nonce}`, 1, { nx: true, px: ttlMs })) === 'OK';
    },
    async close() {},
  };
}
