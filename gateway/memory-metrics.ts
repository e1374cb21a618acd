import { Gauge, type Registry } from 'prom-client';
import type { BucketStore } from '../plugins/rate-limit/store.js';
import type { NonceStore } from '../runtime/nonce-store.js';
import type { MemorySettings } from './memory-settings.js';
import type { TenantDirectory } from './tenant-directory.js';

/** The gateway's per-key caches, as it built them; a store that is not in this process's memory (Upstash) is left out. */
export interface MemorySources {
  readonly tenants: TenantDirectory;
  readonly buckets: BucketStore | undefined;
  readonly nonces: NonceStore;
  readonly persistedQueries: () => { readonly documents: number; readonly bytes: number };
  readonly documents: ByteBounded;
  readonly queryPlans: ByteBounded;
  /** The cost model's estimates (the model is built again on every schema change). */
  readonly costEstimates: () => { readonly entries: number; readonly bytes: number };
  readonly bounds: MemorySettings;
}

/** A cache bounded by bytes (runtime/bounded-cache.ts). */
interface ByteBounded {
  readonly size: number;
  readonly bytes: number;
}

interface Held {
  readonly entries: number;
  readonly bytes?: number;
  /** Entries, or bytes for a cache bounded by bytes. */
  readonly bound: number;
}

const sizeOf = (store: object): number | undefined => ('size' in store && typeof store.size === 'number' ? store.size : undefined);

/**
 * The gauges of the gateway's per-key memory (docs/configuration.md, "Memory"), read at each scrape:
 * `geofed_memory_cache_entries{cache}`, `geofed_memory_cache_bytes{cache}` (the caches bounded by bytes) and
 * `geofed_memory_cache_bound{cache}`. A cache that stays at its bound forgets keys still in use: a bound to raise.
 * `sources` are the serving pipeline's (undefined before the first supergraph is loaded): a reload builds new ones.
 */
export function memoryGauges(registry: Registry, sources: () => MemorySources | undefined): void {
  const held = (): Record<string, Held | undefined> => {
    const current = sources();
    if (!current) return {};
    const { tenants, buckets, nonces, persistedQueries, documents, queryPlans, costEstimates, bounds } = current;
    const directory = 'held' in tenants ? (tenants.held as { tenants: number; unknown: number }) : undefined;
    const bucketCount = buckets && sizeOf(buckets);
    const nonceCount = sizeOf(nonces);
    const registered = persistedQueries();
    const estimates = costEstimates();
    return {
      tenants: directory && { entries: directory.tenants, bound: bounds.tenantEntries },
      unknown_tenants: directory && { entries: directory.unknown, bound: bounds.unknownTenantEntries },
      rate_limit_buckets: bucketCount === undefined ? undefined : { entries: bucketCount, bound: bounds.rateLimitBuckets },
      hop_nonces: nonceCount === undefined ? undefined : { entries: nonceCount, bound: bounds.hopNonces },
      persisted_queries: { entries: registered.documents, bytes: registered.bytes, bound: bounds.persistedQueryBytes },
      documents: { entries: documents.size, bytes: documents.bytes, bound: bounds.documentBytes },
      query_plans: { entries: queryPlans.size, bytes: queryPlans.bytes, bound: bounds.queryPlanBytes },
      cost_estimates: { entries: estimates.entries, bytes: estimates.bytes, bound: bounds.costEstimateBytes },
    };
  };
  const collect = (read: (h: Held) => number | undefined) =>
    function (this: Gauge<'cache'>) {
      this.reset();
      for (const [cache, h] of Object.entries(held())) {
        const value = h && read(h);
        if (value !== undefined) this.set({ cache }, value);
      }
    };
  new Gauge({ name: 'geofed_memory_cache_entries', help: 'Entries each per-key cache of this process holds now (memory.* bounds them).', labelNames: ['cache'] as const, registers: [registry], collect: collect((h) => h.entries) });
  new Gauge({ name: 'geofed_memory_cache_bytes', help: 'Approximate heap bytes of the caches bounded by bytes (persisted_queries, documents, query_plans, cost_estimates).', labelNames: ['cache'] as const, registers: [registry], collect: collect((h) => h.bytes) });
  new Gauge({ name: 'geofed_memory_cache_bound', help: 'Each cache\'s bound (memory.* in supergraph.yaml): entries, or bytes for the caches bounded by bytes.', labelNames: ['cache'] as const, registers: [registry], collect: collect((h) => h.bound) });
}
