import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from '@upstash/redis';
import { settle, type BucketDebit, type BucketStore, type DebitResult } from './store.js';

const script = readFileSync(new URL('./token-bucket.lua', import.meta.url), 'utf8');
const scriptSha = createHash('sha1').update(script).digest('hex');

export interface UpstashStoreOptions {
  readonly url: string;
  readonly token: string;
  /** Every request to Upstash is aborted after this, so a dead store leaves nothing pending. */
  readonly timeoutMs: number;
  /**
   * The clock the script reads, in ms: for tests only. Without it the script
   * reads Redis's own TIME, the one clock every gateway shares.
   */
  readonly now?: () => number;
}

/**
 * Buckets in Upstash Redis, shared by every gateway. Each debit is one
 * EVALSHA of token-bucket.lua over all of the operation's buckets (one round
 * trip); the script is loaded once when Redis answers NOSCRIPT.
 */
export function upstashBucketStore({ url, token, timeoutMs, now }: UpstashStoreOptions): BucketStore {
  // No retries: a slow or dead store must fall under the gateway's own timeout and policy.
  const redis = new Redis({ url, token, retry: { retries: 0 }, automaticDeserialization: false, enableTelemetry: false, signal: () => AbortSignal.timeout(timeoutMs) });
  const run = async (keys: string[], args: string[]): Promise<string[]> => {
    try {
      return await redis.evalsha<string[], string[]>(scriptSha, keys, args);
    } catch (error) {
      if (!String((error as Error).message).includes('NOSCRIPT')) throw error;
      await redis.scriptLoad(script);
      return redis.evalsha<string[], string[]>(scriptSha, keys, args);
    }
  };
  return {
    async debit(debits: readonly BucketDebit[]): Promise<DebitResult> {
      const clock = now ? String(now()) : '';
      const args = [clock, ...debits.flatMap((debit) => [String(debit.capacity), String(debit.refillPerSecond), String(debit.cost)])];
      const reply = await run(debits.map((debit) => debit.key), args);
      return settle(debits, debits.map((_, i) => Number(reply[i])), reply[debits.length] === '1');
    },
    async close() {},
  };
}
