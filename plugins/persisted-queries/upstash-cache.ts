import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import { Redis } from '@upstash/redis';
import { logger } from '../../runtime/logger.js';

export interface UpstashCacheOptions {
  readonly url: string;
  readonly token: string;
  /** Put before every key, so that one Redis can hold several applications' entries. */
  readonly keyPrefix?: string;
}

/** How long one request to Upstash may take before it is aborted. */
const requestTimeoutMs = 1_000;

/**
 * A `KeyValueCache<string>` in Upstash Redis (over its REST API), shared by every gateway instance.
 * For APQ, a store that cannot be reached must cost a round trip, never a request: a failed `get`
 * is logged and answered as a miss (the client then sends the body again). `set` and `delete`
 * reject, so their caller decides (Apollo logs a failed registration and serves the request).
 */
export class UpstashCache implements KeyValueCache<string> {
  private readonly redis: Redis;
  private readonly keyPrefix: string;

  constructor({ url, token, keyPrefix = '' }: UpstashCacheOptions) {
    // No retries and a timeout: a slow or dead store must fall back to a miss quickly.
    // automaticDeserialization off: values are query bodies, stored and returned as-is.
    this.redis = new Redis({
      url,
      token,
      retry: { retries: 0 },
      automaticDeserialization: false,
      enableTelemetry: false,
      signal: () => AbortSignal.timeout(requestTimeoutMs),
    });
    this.keyPrefix = keyPrefix;
  }

  async get(key: string): Promise<string | undefined> {
    try {
      const value = await this.redis.get<string>(this.keyPrefix + key);
      return typeof value === 'string' ? value : undefined;
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'persisted-query store unreachable: lookup answered as a miss');
      return undefined;
    }
  }

  /** `ttl` in seconds, as Apollo passes it; none (or null, or 0) keeps the entry until it is deleted. */
  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttl = options?.ttl;
    if (typeof ttl === 'number' && ttl > 0) await this.redis.set(this.keyPrefix + key, value, { ex: Math.ceil(ttl) });
    else await this.redis.set(this.keyPrefix + key, value);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.keyPrefix + key)) > 0;
  }
}
