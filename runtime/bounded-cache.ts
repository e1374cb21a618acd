import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import { LRUCache } from 'lru-cache';

/** What one entry takes besides its value and its key: its slot in the LRU and its key's string header (bench/memory.ts). */
export const cacheEntryOverheadBytes = 200;

export interface BoundedCacheOptions<V> {
  /** The most the entries may weigh together, in approximate heap bytes; the least recently used go first. */
  readonly maxBytes: number;
  /** An entry's approximate heap bytes: its value, its key and the LRU's slot. */
  readonly sizeOf: (value: V, key: string) => number;
}

/**
 * An Apollo `KeyValueCache` in this process's memory, bounded by what its
 * entries weigh in the heap, as the caller estimates it. Apollo's
 * `InMemoryLRUCache` weighs a string by its length and an object by its JSON:
 * a parsed document or a query plan takes about five times its JSON in the
 * heap, and a small entry mostly its key and its slot, which it counts not at
 * all (bench/memory.ts). A `ttl` in a set is in seconds, as Apollo sets it.
 */
export class BoundedCache<V extends object | string> implements KeyValueCache<V> {
  private readonly lru: LRUCache<string, V>;

  constructor({ maxBytes, sizeOf }: BoundedCacheOptions<V>) {
    this.lru = new LRUCache<string, V>({ maxSize: maxBytes, sizeCalculation: (value, key) => Math.max(1, Math.ceil(sizeOf(value, key))) });
  }

  /** Entries held now. */
  get size(): number {
    return this.lru.size;
  }

  /** Their approximate heap bytes together, at most maxBytes. */
  get bytes(): number {
    return this.lru.calculatedSize;
  }

  async get(key: string): Promise<V | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: V, options?: KeyValueCacheSetOptions): Promise<void> {
    // An entry heavier than the whole bound is not kept (lru-cache's maxEntrySize is maxSize).
    this.lru.set(key, value, options?.ttl ? { ttl: options.ttl * 1_000 } : undefined);
  }

  async delete(key: string): Promise<boolean> {
    return this.lru.delete(key);
  }

  /** The keys, most recently used first. */
  keys(): string[] {
    return [...this.lru.keys()];
  }

  clear(): void {
    this.lru.clear();
  }
}
