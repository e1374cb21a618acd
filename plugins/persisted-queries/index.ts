import type { ApolloServerOptions, ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { GraphQLError } from 'graphql';
import { ErrorCode, geofedError, statusOfCode } from '../../protocol/errors.js';
import { logger } from '../../runtime/logger.js';
import { loadManifest, sha256Hex } from './manifest.js';
import { ResidentStore, type ResidentStoreOptions } from './resident-store.js';
import type { PersistedQuerySettings } from './settings.js';

export type PersistedQueryMode = PersistedQuerySettings['mode'];

export interface PersistedQueryOptions {
  /** An `apollo-persisted-query-manifest` file; required unless mode is off (the settings schema checks it). */
  readonly manifestPath?: string | undefined;
  readonly mode: PersistedQueryMode;
  /** Where registered documents are kept: shared, or in their tenant's home region (resident-store.ts). @default this process's memory */
  readonly stores?: Omit<ResidentStoreOptions, 'keyPrefix'>;
  /** Prefix of the Upstash keys. @default 'geofed:apq:' */
  readonly keyPrefix?: string;
  /** The most the registered documents kept in this process's memory may weigh (`memory.persisted_query_bytes`). @default defaultPersistedQueryBytes */
  readonly memoryBytes?: number;
}

/**
 * A registered body expires after a day: the Upstash store is shared and would otherwise keep every
 * body any client ever registered. A client whose hash expired just sends the body again.
 */
const APQ_TTL_SECONDS = 24 * 60 * 60;

/** Apollo Server wraps `persistedQueries.cache` in a PrefixingKeyValueCache with this prefix (APQ_CACHE_PREFIX in its requestPipeline.js). */
const APOLLO_APQ_PREFIX = 'apq:';

/** Everything to spread into `new ApolloServer({...})`; put `plugins` first in the plugin list (see listPlugin). */
export function persistedQueries(options: PersistedQueryOptions): {
  persistedQueries: ApolloServerOptions<BaseContext>['persistedQueries'];
  plugins: ApolloServerPlugin<BaseContext>[];
  /** The registered documents kept in this process's memory (none in safelist mode). */
  memoryHeld: () => { readonly documents: number; readonly bytes: number };
} {
  const { mode, manifestPath, stores = { regional: {}, homeRegion: () => undefined, isRegional: () => false }, keyPrefix = 'geofed:apq:', memoryBytes } = options;
  const manifest = manifestPath ? loadManifest(manifestPath) : undefined;
  const bodies = new Map(manifest?.operations.map((operation) => [operation.id, operation.body]));
  // Safelist mode has no APQ store at all: only listed bodies can be found by hash, none registered.
  const store = mode === 'safelist' ? undefined : new ResidentStore({ ...stores, keyPrefix, memoryBytes });
  logger.info({ mode, listed: bodies.size, store: store?.describe() ?? 'none' }, 'persisted queries');
  return {
    persistedQueries: { cache: new ListedFirstCache(bodies, store), ttl: APQ_TTL_SECONDS },
    plugins: manifest && mode !== 'off' ? [listPlugin(new Set(bodies.keys()), mode)] : [],
    memoryHeld: () => store?.memoryHeld() ?? { documents: 0, bytes: 0 },
  };
}

/**
 * The cache Apollo's APQ reads: the manifest's bodies first (so a listed operation can be sent by
 * hash alone without ever being registered), then the APQ store. Apollo asks for `apq:<sha256>`;
 * the store is keyed by the bare hash (so Upstash keys read `geofed:apq:<sha256>`).
 */
class ListedFirstCache implements KeyValueCache<string> {
  constructor(
    private readonly bodies: ReadonlyMap<string, string>,
    private readonly store: KeyValueCache<string> | undefined,
  ) {}

  async get(key: string): Promise<string | undefined> {
    const hash = hashOf(key);
    // Not a sha256: no body can have it, and a client's garbage never becomes a store key.
    if (!sha256Pattern.test(hash)) return undefined;
    return this.bodies.get(hash) ?? (await this.store?.get(hash));
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const hash = hashOf(key);
    if (!sha256Pattern.test(hash)) return;
    // A listed body needs no registration; without a store (safelist) nothing can be registered.
    if (this.bodies.has(hash) || !this.store) return;
    try {
      await this.store.set(hash, value, options);
    } catch (error) {
      // The request is served all the same; the client will send the body again next time.
      logger.warn({ err: (error as Error).message }, 'persisted-query store unreachable: registration dropped');
    }
  }

  async delete(key: string): Promise<boolean> {
    return (await this.store?.delete(hashOf(key))) === true;
  }
}

const sha256Pattern = /^[0-9a-f]{64}$/;

function hashOf(key: string): string {
  return key.startsWith(APOLLO_APQ_PREFIX) ? key.slice(APOLLO_APQ_PREFIX.length) : key;
}

function notInList(): GraphQLError {
  return geofedError(ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, 'This operation is not in the persisted-query list of this gateway: only the operations of its manifest are served.');
}

/**
 * Checks each operation's body against the list. Apollo offers no hook that can refuse a request
 * cleanly before parsing (an error thrown in didResolveSource is a 500), so an unlisted body is
 * refused in didResolveOperation: after parse and validation, before execution and before APQ
 * registration. willSendResponse then answers every unlisted request with the same error, so a
 * parse or validation error (or another plugin's error) never tells a prober more about the schema.
 * Plugins' willSendResponse hooks start in list order: put this plugin first so later ones (CDN
 * caching, status) see the final response.
 */
function listPlugin(listed: ReadonlySet<string>, mode: 'log-unlisted' | 'safelist'): ApolloServerPlugin<BaseContext> {
  const safelist = mode === 'safelist';
  return {
    async requestDidStart() {
      let unlistedHash: string | undefined;
      return {
        async didResolveSource({ source }) {
          // Hashed here rather than trusting queryHash: on a store hit that is the client's claim,
          // and the store (shared Redis) is not the list.
          const hash = sha256Hex(source);
          if (!listed.has(hash)) unlistedHash = hash;
        },
        async didResolveOperation() {
          if (safelist && unlistedHash !== undefined) throw notInList();
        },
        async willSendResponse({ request, response, operationName, operation }) {
          if (unlistedHash === undefined) return;
          // One line per operation: its hash, name and type; never its variables or its body
          // (literals in a body can be personal data).
          const name = operationName ?? request.operationName ?? null;
          logger.warn(
            { queryHash: unlistedHash, operationName: name?.slice(0, 100) ?? null, operationType: operation?.operation ?? null, mode },
            safelist ? 'operation not in the persisted-query list: refused' : 'operation not in the persisted-query list: served',
          );
          if (!safelist) return;
          const error = notInList();
          response.body = { kind: 'single', singleResult: { errors: [{ message: error.message, extensions: { code: ErrorCode.PERSISTED_QUERY_NOT_IN_LIST } }] } };
          response.http.status = statusOfCode.PERSISTED_QUERY_NOT_IN_LIST;
        },
      };
    },
  };
}
