import { memoryBucketStore } from './memory-store.js';
import type { BucketStore } from './store.js';
import { upstashBucketStore } from './upstash-store.js';

/** Upstash Redis when UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN are set (shared by every gateway), else this process's memory. */
export function bucketStoreFromEnv(env: NodeJS.ProcessEnv, timeoutMs: number): BucketStore {
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  return url && token ? upstashBucketStore({ url, token, timeoutMs }) : memoryBucketStore();
}
