import { PrefixingKeyValueCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import { BoundedCache, cacheEntryOverheadBytes } from '../../runtime/bounded-cache.js';
import { UpstashCache } from './upstash-cache.js';

export interface StoreEndpoint {
  readonly url: string;
  readonly token: string;
}

export interface ResidentStoreOptions {
  /** The Upstash Redis every region shares (`UPSTASH_REDIS_REST_URL`); this process's memory without one. */
  readonly shared?: StoreEndpoint | undefined;
  /** Each region's own Upstash Redis (`UPSTASH_REDIS_REST_URL_<REGION>`); that region's documents stay in this process's memory without one. */
  readonly regional: Readonly<Record<string, StoreEndpoint>>;
  /** The home region of the request's caller, or undefined for an anonymous one. */
  readonly homeRegion: () => string | undefined;
  /** True for a document that carries literal values for a regional subgraph's arguments (a tenant's data, inline). */
  readonly isRegional: (document: string) => boolean;
  readonly keyPrefix: string;
  /**
   * The most this process keeps of the documents registered in memory (the stores without an Upstash
   * endpoint, shared and every region's together), in approximate heap bytes (`memory.persisted_query_bytes`).
   * @default defaultPersistedQueryBytes
   */
  readonly memoryBytes?: number;
}

/** `memory.persisted_query_bytes`: 32 MiB. */
export const defaultPersistedQueryBytes = 32 * 1024 * 1024;

/**
 * A registered document's approximate heap bytes: its text (two bytes a character once one is outside
 * Latin-1, as V8 keeps it), its key and its slot. Apollo's InMemoryLRUCache counts the text's length
 * alone, so a flood of tiny documents held several times its bound.
 */
export function documentHeapBytes(document: string, key: string): number {
  return document.length * (/[^\u0000-\u00ff]/.test(document) ? 2 : 1) + key.length + cacheEntryOverheadBytes;
}

/**
 * The APQ store with residency: a registered document that carries a
 * tenant's data written inline (`updateProfile(name: "…")`) is kept only in
 * its tenant's home region's store, never in one every region shares; any
 * other document goes to the shared store, where every region finds it. A
 * lookup by hash reads the shared store, then the caller's home region's.
 * The stores without an Upstash endpoint are views of one bounded LRU of this
 * process (`memoryBytes`), each under a prefix of its own (`shared:`, or the
 * region's name): one bound for every document this process keeps.
 */
export class ResidentStore implements KeyValueCache<string> {
  private readonly memory: BoundedCache<string>;
  private readonly shared: KeyValueCache<string>;
  // By region of the deployment (a caller's home region comes from the tenants directory): as many as the config's regions.
  private readonly regional = new Map<string, KeyValueCache<string>>();

  constructor(private readonly options: ResidentStoreOptions) {
    this.memory = new BoundedCache<string>({ maxBytes: options.memoryBytes ?? defaultPersistedQueryBytes, sizeOf: documentHeapBytes });
    this.shared = this.storeAt(options.shared, 'shared:');
  }

  async get(hash: string): Promise<string | undefined> {
    const found = await this.shared.get(hash);
    if (found !== undefined) return found;
    const home = this.options.homeRegion();
    return home === undefined ? undefined : this.regionStore(home).get(hash);
  }

  async set(hash: string, document: string, options?: KeyValueCacheSetOptions): Promise<void> {
    if (!this.options.isRegional(document)) return this.shared.set(hash, document, options);
    const home = this.options.homeRegion();
    // A regional document without a caller cannot be: such an operation is refused before registration. Never shared.
    if (home !== undefined) await this.regionStore(home).set(hash, document, options);
  }

  async delete(hash: string): Promise<boolean> {
    const home = this.options.homeRegion();
    const deleted = await Promise.all([this.shared.delete(hash), home === undefined ? false : this.regionStore(home).delete(hash)]);
    return deleted.some(Boolean);
  }

  /** The documents kept in this process's memory, shared and regional: how many, and their approximate heap bytes. */
  memoryHeld(): { readonly documents: number; readonly bytes: number } {
    return { documents: this.memory.size, bytes: this.memory.bytes };
  }

  /** Where the store lives, for the start-up log line: `upstash` or `memory`, shared and by region. */
  describe(): { shared: string; regional: Record<string, string> } {
    return { shared: this.options.shared ? 'upstash' : 'memory', regional: Object.fromEntries(Object.keys(this.options.regional).map((region) => [region, 'upstash'])) };
  }

  private regionStore(region: string): KeyValueCache<string> {
    let store = this.regional.get(region);
    if (!store) {
      store = this.storeAt(this.options.regional[region], `${region}:`);
      this.regional.set(region, store);
    }
    return store;
  }

  private storeAt(endpoint: StoreEndpoint | undefined, memoryPrefix: string): KeyValueCache<string> {
    return endpoint ? new UpstashCache({ ...endpoint, keyPrefix: this.options.keyPrefix }) : new PrefixingKeyValueCache(this.memory, memoryPrefix);
  }
}
