import { memoryBucketStore } from './memory-store.js';
import type { BucketStore } from './store.js';
import { upstashBucketStore } from './upstash-store.js';

/** Upstash Redis when configured (shared by every gateway), else this process's memory. */
export function bucketStoreOf(upstash: { readonly url: string; readonly token: string } | undefined, timeoutMs: number): BucketStore {
  return upstash ? upstashBucketStore({ ...upstash, timeoutMs }) : memoryBucketStore();
}
