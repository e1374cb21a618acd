import { Redis } from '@upstash/redis';
import type { NonceStore } from '../runtime/nonce-store.js';

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
