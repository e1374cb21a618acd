import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
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
}

/**
 * The APQ store with residency: a registered document that carries a
 * tenant's data written inline (`updateProfile(name: "…")`) is kept only in
 * its tenant's home region's store, never in one every region shares; any
 * other document goes to the shared store, where every region finds it. A
 * lookup by hash reads the shared store, then the caller's home region's.
 */
export class ResidentStore implements KeyValueCache<string> {
  private readonly shared: KeyValueCache<string>;
  private readonly regional = new Map<string, KeyValueCache<string>>();

  constructor(private readonly options: ResidentStoreOptions) {
    this.shared = storeAt(options.shared, options.keyPrefix);
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

  /** Where the store lives, for the start-up log line: `upstash` or `memory`, shared and by region. */
  describe(): { shared: string; regional: Record<string, string> } {
    return { shared: this.options.shared ? 'upstash' : 'memory', regional: Object.fromEntries(Object.keys(this.options.regional).map((region) => [region, 'upstash'])) };
  }

  private regionStore(region: string): KeyValueCache<string> {
    let store = this.regional.get(region);
    if (!store) {
      store = storeAt(this.options.regional[region], this.options.keyPrefix);
      this.regional.set(region, store);
    }
    return store;
  }
}

function storeAt(endpoint: StoreEndpoint | undefined, keyPrefix: string): KeyValueCache<string> {
  return endpoint ? new UpstashCache({ ...endpoint, keyPrefix }) : new InMemoryLRUCache<string>();
}
