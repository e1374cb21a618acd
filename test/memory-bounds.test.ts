import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'graphql';
import { describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../gateway/config.js';
import { memoryGauges } from '../gateway/memory-metrics.js';
import { documentStore, objectHeapBytes, queryPlanStore } from '../gateway/operation-caches.js';
import { cachedTenantDirectory, staticTenantDirectory, type TenantEntry } from '../gateway/tenant-directory.js';
import { documentHeapBytes, ResidentStore } from '../plugins/persisted-queries/resident-store.js';
import { memoryBucketStore } from '../plugins/rate-limit/memory-store.js';
import type { BucketDebit } from '../plugins/rate-limit/store.js';
import { BoundedCache } from '../runtime/bounded-cache.js';
import { memoryNonceStore } from '../runtime/nonce-store.js';

// Every per-key map the gateway keeps in memory is a bounded LRU (docs/configuration.md, "Memory"): each test
// fills one past its bound, and checks that it holds no more than the bound and that the entry it forgot is
// the one used least recently (not the oldest: the first entry is used again before the bound is passed).

const entry = (id: string): TenantEntry => ({ id, region: 'eu', billingPlan: 'pro', status: 'active' });

describe('the tenants-directory cache', () => {
  it('keeps at most memory.tenant_entries tenants, forgetting the least recently looked up', async () => {
    const fetchEntry = vi.fn(async (id: string) => entry(id));
    const directory = cachedTenantDirectory(fetchEntry, { ttlMs: 60_000, maxEntries: 3, now: () => 1_000 });
    for (const id of ['t1', 't2', 't3']) await directory.lookup(id);
    await directory.lookup('t1'); // a hit: t1 is now the most recently used, t2 the least
    await directory.lookup('t4');
    expect(directory.held).toEqual({ tenants: 3, unknown: 0 });
    expect(fetchEntry).toHaveBeenCalledTimes(4);

    for (const id of ['t1', 't3', 't4']) await directory.lookup(id);
    expect(fetchEntry).toHaveBeenCalledTimes(4); // still cached
    await directory.lookup('t2');
    expect(fetchEntry).toHaveBeenCalledTimes(5); // forgotten, looked up again (and t1 goes in its turn)
    expect(directory.held.tenants).toBe(3);
  });

  it('keeps at most memory.unknown_tenant_entries "no such tenant" answers, apart: unknown tenants never push a known one out', async () => {
    const fetchEntry = vi.fn(async (id: string) => (id.startsWith('known') ? entry(id) : null));
    const directory = cachedTenantDirectory(fetchEntry, { ttlMs: 60_000, maxEntries: 2, maxNotFound: 2, now: () => 1_000 });
    await directory.lookup('known-1');
    await directory.lookup('u1');
    await directory.lookup('u2');
    await directory.lookup('u1'); // u2 is now the least recently used unknown
    for (let i = 3; i <= 1_000; i += 1) expect(await directory.lookup(`u${i}`)).toBeNull();
    expect(directory.held).toEqual({ tenants: 1, unknown: 2 });

    fetchEntry.mockClear();
    expect(await directory.lookup('known-1')).toEqual(entry('known-1'));
    expect(await directory.lookup('u1000')).toBeNull();
    expect(fetchEntry).not.toHaveBeenCalled();
    await directory.lookup('u2');
    expect(fetchEntry).toHaveBeenCalledWith('u2');
  });

  it('moves a tenant between the two as the directory answers', async () => {
    let exists = false;
    const clock = { ms: 1_000 };
    const directory = cachedTenantDirectory(async (id) => (exists ? entry(id) : null), { ttlMs: 100, maxEntries: 2, maxNotFound: 2, now: () => clock.ms });
    expect(await directory.lookup('new')).toBeNull();
    expect(directory.held).toEqual({ tenants: 0, unknown: 1 });
    exists = true;
    clock.ms += 101;
    expect(await directory.lookup('new')).toEqual(entry('new'));
    expect(directory.held).toEqual({ tenants: 1, unknown: 0 });
  });
});

describe('the memory bucket store', () => {
  const debit = (key: string): BucketDebit => ({ key, capacity: 10, refillPerSecond: 0, cost: 4 });

  it('keeps at most memory.rate_limit_buckets buckets; one forgotten is full again', async () => {
    const store = memoryBucketStore(() => 1_000, { maxBuckets: 3 });
    for (const key of ['anon:a', 'anon:b', 'anon:c']) await store.debit([debit(key)]);
    await store.debit([debit('anon:a')]); // 2 left in a, which is now the most recently debited; b the least
    await store.debit([debit('anon:d')]);
    expect(store.size).toBe(3);

    const remaining = async (key: string) => (await store.debit([{ ...debit(key), cost: 0 }])).buckets[0]!.remaining;
    // Newest first, so that asking does not itself push out the one asked about next.
    expect(await remaining('anon:d')).toBe(6);
    expect(await remaining('anon:a')).toBe(2);
    expect(await remaining('anon:c')).toBe(6);
    expect(await remaining('anon:b')).toBe(10); // forgotten: full again
    expect(store.size).toBe(3);
  });

  it('holds its bound under a flood of distinct client keys', async () => {
    const store = memoryBucketStore(() => 1_000, { maxBuckets: 100 });
    for (let i = 0; i < 10_000; i += 1) await store.debit([debit(`geofed:rl:{anon:10.0.${i >> 8}.${i & 255}}:us`)]);
    expect(store.size).toBe(100);
  });
});

describe('the APQ memory store', () => {
  const hash = (n: number) => n.toString(16).padStart(64, '0');
  const doc = (n: number) => `query Q${String(n).padStart(4, '0')} { products(first: 1) { id } }`;

  function storeOf(entries: number) {
    let home: string | undefined;
    const regional = new Set<string>();
    // Room for `entries` shared documents, and not one more.
    const memoryBytes = entries * documentHeapBytes(doc(0), `shared:${hash(0)}`) + 10;
    const store = new ResidentStore({ regional: {}, homeRegion: () => home, isRegional: (d) => regional.has(d), keyPrefix: 'geofed:apq:', memoryBytes });
    return { store, memoryBytes, regional, setHome: (region: string | undefined) => (home = region) };
  }

  it('keeps at most memory.persisted_query_bytes of documents, forgetting the least recently read', async () => {
    const { store, memoryBytes } = storeOf(3);
    for (const n of [1, 2, 3]) await store.set(hash(n), doc(n));
    expect(await store.get(hash(1))).toBe(doc(1)); // 2 is now the least recently used
    await store.set(hash(4), doc(4));
    expect(store.memoryHeld().documents).toBe(3);
    expect(store.memoryHeld().bytes).toBeLessThanOrEqual(memoryBytes);
    expect(await store.get(hash(2))).toBeUndefined();
    for (const n of [1, 3, 4]) expect(await store.get(hash(n))).toBe(doc(n));
  });

  it('counts every region\'s documents against the same bound, each region apart', async () => {
    const { store, regional, setHome } = storeOf(3);
    for (const n of [1, 2, 3]) await store.set(hash(n), doc(n));
    regional.add(doc(5));
    setHome('eu');
    await store.set(hash(5), doc(5));
    expect(store.memoryHeld().documents).toBe(3);
    expect(await store.get(hash(5))).toBe(doc(5));
    setHome('us');
    expect(await store.get(hash(5))).toBeUndefined(); // eu's, never another region's
    expect(await store.get(hash(1))).toBeUndefined(); // the least recently used, pushed out by eu's
  });

  it('weighs a document by its text, its key and its slot, so tiny documents cannot hold many times the bound', () => {
    expect(documentHeapBytes('{a}', `shared:${hash(1)}`)).toBe(3 + 71 + 200);
    expect(documentHeapBytes('{ é }', 'k')).toBe(5 + 1 + 200);
    expect(documentHeapBytes('{ 名 }', 'k')).toBe(10 + 1 + 200);
  });
});

describe('Apollo\'s document store and plan store', () => {
  const key = (n: number) => `${'a'.repeat(64)}:${n.toString(16).padStart(64, '0')}`;

  it('keeps at most memory.document_bytes of parsed documents, forgetting the least recently used', async () => {
    const documents = [1, 2, 3, 4].map((n) => parse(`query Q${n} { products(first: ${n}) { id name } }`));
    const store = documentStore(3 * objectHeapBytes(documents[0]!, key(1)) + 10);
    for (const n of [1, 2, 3]) await store.set(key(n), documents[n - 1]!);
    expect(await store.get(key(1))).toBe(documents[0]);
    await store.set(key(4), documents[3]!);
    expect(store.size).toBe(3);
    expect(await store.get(key(2))).toBeUndefined();
    expect(store.keys().sort()).toEqual([key(1), key(3), key(4)].sort());
  });

  it('keeps at most memory.query_plan_bytes of plans, and clears when Apollo replans on a new schema', async () => {
    const plan = (n: number) => ({ kind: 'QueryPlan' as const, node: { kind: 'Fetch' as const, serviceName: 'catalog', variableUsages: [], operation: `{products(first:${n}){id}}`, operationKind: 'query' as never } });
    const store = queryPlanStore(3 * objectHeapBytes(plan(1), key(1)) + 10);
    for (const n of [1, 2, 3]) await store.set(key(n), plan(n) as never);
    await store.get(key(1));
    await store.set(key(4), plan(4) as never);
    expect(store.size).toBe(3);
    expect(await store.get(key(2))).toBeUndefined();
    expect(await store.get(key(4))).toEqual(plan(4));
    store.clear();
    expect(store.size).toBe(0);
  });

  it('weighs an object at five times its JSON with its key and slot, and keeps none heavier than the whole bound', async () => {
    const value = { a: 'x'.repeat(100) };
    expect(objectHeapBytes(value, 'k')).toBe(5 * JSON.stringify(value).length + 1 + 200);
    const cache = new BoundedCache<object>({ maxBytes: 500, sizeOf: objectHeapBytes });
    await cache.set('k', value);
    expect(cache.size).toBe(0);
    await cache.set('k', { a: 1 });
    expect(cache.size).toBe(1);
    expect(cache.bytes).toBe(objectHeapBytes({ a: 1 }, 'k'));
  });
});

describe('the hop nonce memory store', () => {
  it('remembers at most memory.hop_nonces nonces, forgetting the least recently claimed', async () => {
    const nonces = memoryNonceStore(3);
    for (const nonce of ['n1', 'n2', 'n3', 'n4']) expect(await nonces.claim(nonce, 60_000)).toBe(true);
    // A replay is refused while remembered (and asking does not make it more recent)...
    for (const nonce of ['n4', 'n3', 'n2']) expect(await nonces.claim(nonce, 60_000)).toBe(false);
    // ...and passes once forgotten: exactly the three newest were held.
    expect(await nonces.claim('n1', 60_000)).toBe(true);
  });
});

describe('memory in supergraph.yaml', () => {
  const good = readFileSync('supergraph.yaml', 'utf8');
  const write = (text: string) => {
    const file = join(mkdtempSync(join(tmpdir(), 'geofed-memory-')), 'supergraph.yaml');
    writeFileSync(file, text);
    return file;
  };
  const withoutMemory = good.replace(/^memory:[\s\S]*?(?=^\S|(?![\s\S]))/m, '');

  it('defaults every bound, and reads each from the memory section', () => {
    expect(loadConfig(write(withoutMemory), {}).memory).toEqual({
      tenantEntries: 100_000,
      unknownTenantEntries: 10_000,
      rateLimitBuckets: 100_000,
      hopNonces: 250_000,
      persistedQueryBytes: 32 * 1024 * 1024,
      documentBytes: 64 * 1024 * 1024,
      queryPlanBytes: 64 * 1024 * 1024,
      costEstimateBytes: 16 * 1024 * 1024,
    });
    const sized = loadConfig(write(`${withoutMemory}\nmemory: { tenant_entries: 5, document_bytes: 1048576 }\n`), {}).memory;
    expect(sized).toMatchObject({ tenantEntries: 5, documentBytes: 1_048_576, unknownTenantEntries: 10_000 });
  });

  it('refuses a bound that is not a positive whole number, and an unknown key, naming it', () => {
    const errorOf = (memory: string) => {
      try {
        loadConfig(write(`${withoutMemory}\nmemory: ${memory}\n`), {});
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error('expected the config to be refused');
    };
    expect(errorOf('{ tenant_entries: 0 }')).toContain('memory.tenant_entries');
    expect(errorOf('{ document_bytes: 1.5 }')).toContain('memory.document_bytes');
    expect(errorOf('{ tenant_cache: 10 }')).toMatch(/memory\.tenant_cache: unknown key/);
  });
});

describe('the memory gauges', () => {
  it('say what each cache holds and its bound at each scrape, leaving out the stores not in memory', async () => {
    const registry = new Registry();
    const tenants = cachedTenantDirectory(async (id) => (id === 'known' ? entry(id) : null), { ttlMs: 60_000, maxEntries: 5, maxNotFound: 5 });
    const buckets = memoryBucketStore(Date.now, { maxBuckets: 7 });
    const documents = documentStore(1_000_000);
    const queryPlans = queryPlanStore(2_000_000);
    const bounds = loadConfig('supergraph.yaml', {}).memory;
    memoryGauges(registry, () => ({ tenants, buckets, nonces: memoryNonceStore(9), persistedQueries: () => ({ documents: 2, bytes: 600 }), documents, queryPlans, costEstimates: () => ({ entries: 3, bytes: 480 }), bounds }));
    await tenants.lookup('known');
    await tenants.lookup('nobody');
    await buckets.debit([{ key: 'k', capacity: 1, refillPerSecond: 1, cost: 1 }]);
    await documents.set('d', parse('{ a }'));
    const value = async (name: string, cache: string) => (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels.cache === cache)?.value;
    expect(await value('geofed_memory_cache_entries', 'tenants')).toBe(1);
    expect(await value('geofed_memory_cache_entries', 'unknown_tenants')).toBe(1);
    expect(await value('geofed_memory_cache_entries', 'rate_limit_buckets')).toBe(1);
    expect(await value('geofed_memory_cache_entries', 'hop_nonces')).toBe(0);
    expect(await value('geofed_memory_cache_entries', 'persisted_queries')).toBe(2);
    expect(await value('geofed_memory_cache_entries', 'documents')).toBe(1);
    expect(await value('geofed_memory_cache_bytes', 'documents')).toBe(documents.bytes);
    expect(await value('geofed_memory_cache_bound', 'tenants')).toBe(bounds.tenantEntries);
    expect(await value('geofed_memory_cache_bound', 'query_plans')).toBe(bounds.queryPlanBytes);
    expect(await value('geofed_memory_cache_bytes', 'cost_estimates')).toBe(480);

    // A directory given by the caller, an Upstash bucket store: nothing of theirs in this process to report.
    const other = new Registry();
    memoryGauges(other, () => ({ tenants: staticTenantDirectory('us', 'free'), buckets: { debit: () => Promise.reject(new Error('unused')), close: async () => undefined }, nonces: { claim: async () => true, close: async () => undefined }, persistedQueries: () => ({ documents: 0, bytes: 0 }), documents, queryPlans, costEstimates: () => ({ entries: 0, bytes: 0 }), bounds }));
    const caches = (await other.getSingleMetric('geofed_memory_cache_entries')!.get()).values.map((v) => v.labels.cache);
    expect(caches).toEqual(['persisted_queries', 'documents', 'query_plans', 'cost_estimates']);
  });
});
