import { LRUCache } from 'lru-cache';
import type { Dispatcher } from 'undici';
import { ErrorCode, geofedError } from '../protocol/errors.js';
import { postSignedGraphQL } from '../protocol/signed-client.js';
import { describeError } from '../runtime/error-report.js';
import { logger } from '../runtime/logger.js';
import { activeTraceContext, inSpan, traceAttributes } from '../runtime/tracing.js';

export interface TenantEntry {
  readonly id: string;
  /** Lower-case region name, as in supergraph.yaml. */
  readonly region: string;
  /** The tenant's billing plan, which sizes its budgets. */
  readonly billingPlan: string;
  readonly status: 'active' | 'suspended';
}

export interface TenantDirectory {
  /** The tenant's entry, or null when the directory has no such tenant. */
  lookup(tenantId: string): Promise<TenantEntry | null>;
}

export interface DirectoryOptions {
  /** The instances of the directory's subgraph to ask, in order: the gateway's own region's first, then its failover regions. */
  readonly urls: readonly string[];
  /** Signs the lookups (GEOFED_SUBGRAPH_SECRET). */
  readonly secret: string;
  /** How long an entry is reused (`gateway.tenant_cache_ttl_ms`). */
  readonly ttlMs: number;
  /** How long "no such tenant" is reused (`gateway.tenant_not_found_ttl_ms`). */
  readonly notFoundTtlMs: number;
  /** Deadline of one lookup (`gateway.subgraph_timeout_ms`). */
  readonly timeoutMs: number;
  /** Most tenants whose entry is kept (`memory.tenant_entries`). @default defaultTenantEntries */
  readonly maxEntries?: number;
  /** Most "no such tenant" answers kept (`memory.unknown_tenant_entries`). @default defaultUnknownTenantEntries */
  readonly maxNotFound?: number;
  readonly dispatcher?: Dispatcher;
}

const directoryQuery = /* GraphQL */ `
  query TenantDirectoryEntry($id: ID!) { tenantDirectoryEntry(id: $id) { id region plan status } }
`;

/** Reads one tenant's entry from wherever the directory lives: null for no such tenant; throws when it cannot be reached. */
export type DirectoryLookup = (tenantId: string) => Promise<TenantEntry | null>;

export interface DirectoryCacheOptions {
  /** How long a tenant's entry is reused (`gateway.tenant_cache_ttl_ms`). */
  readonly ttlMs: number;
  /** How long "no such tenant" is reused: short, so that a tenant created a moment ago is not refused for long (`gateway.tenant_not_found_ttl_ms`). @default ttlMs */
  readonly notFoundTtlMs?: number;
  /** Most tenants whose entry is kept, the least recently used forgotten first (`memory.tenant_entries`). @default defaultTenantEntries */
  readonly maxEntries?: number;
  /**
   * Most "no such tenant" answers kept, the least recently used forgotten first (`memory.unknown_tenant_entries`).
   * Kept apart from the tenants' entries, so that a flood of unknown tenants never pushes a known one out.
   * @default defaultUnknownTenantEntries
   */
  readonly maxNotFound?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** `memory.tenant_entries`: some 250 bytes of heap each, so about 25 MB when full. */
export const defaultTenantEntries = 100_000;
/** `memory.unknown_tenant_entries`: some 150 bytes each. */
export const defaultUnknownTenantEntries = 10_000;

/** A directory cache, and how many answers it holds right now (each part at most its bound). */
export interface CachedTenantDirectory extends TenantDirectory {
  readonly held: { readonly tenants: number; readonly unknown: number };
  /**
   * The directory changed (a catalog event, tenant-invalidation.ts): with
   * `changed`, a cached entry of the tenant takes those values and stays
   * fresh; without, the tenant is looked up again on its next request. Either
   * way a lookup already in flight answers its requests but is not kept.
   */
  invalidate(tenantId: string, changed?: Partial<Pick<TenantEntry, 'region' | 'status'>>): void;
}

interface CachedEntry { readonly entry: TenantEntry | null; readonly expiresAt: number }

/**
 * The tenants directory as the gateway sees it: `fetchEntry`'s answers cached
 * for `ttlMs`, so a request costs no lookup while the entry is fresh.
 * Concurrent misses for one tenant share one lookup. When the lookup fails, a
 * stale entry keeps serving (a tenant's region does not change under load);
 * with no entry at all the request fails with DIRECTORY_UNAVAILABLE. Both
 * caches are bounded LRUs (`memory.tenant_entries`, `memory.unknown_tenant_entries`):
 * a tenant forgotten is looked up again on its next request, and while the
 * directory cannot be reached it has no stale entry to fall back on.
 */
export function cachedTenantDirectory(
  fetchEntry: DirectoryLookup,
  { ttlMs, notFoundTtlMs = ttlMs, maxEntries = defaultTenantEntries, maxNotFound = defaultUnknownTenantEntries, now = Date.now }: DirectoryCacheOptions,
): CachedTenantDirectory {
  const known = new LRUCache<string, CachedEntry>({ max: maxEntries });
  const unknown = new LRUCache<string, CachedEntry>({ max: maxNotFound });
  // In-flight lookups only: bounded by the requests in flight.
  const pending = new Map<string, Promise<TenantEntry | null>>();
  // Bumped by every invalidation: an answer read before the change is never kept after it.
  let generation = 0;

  async function refresh(tenantId: string, stale: CachedEntry | undefined): Promise<TenantEntry | null> {
    const started = generation;
    try {
      const entry = await fetchEntry(tenantId);
      if (started !== generation) return entry;
      if (entry === null) {
        known.delete(tenantId);
        unknown.set(tenantId, { entry, expiresAt: now() + notFoundTtlMs });
      } else {
        unknown.delete(tenantId);
        known.set(tenantId, { entry, expiresAt: now() + ttlMs });
      }
      return entry;
    } catch (error) {
      // A failure is never an answer: nothing is cached, and the next request asks again.
      const refusedGateway = refusedThisGateway(error);
      if (refusedGateway) logger.error({ error: describeError(error), subgraph: 'catalog' }, 'the tenants directory refused this gateway\'s signature: GEOFED_SUBGRAPH_SECRET differs between this gateway and the catalog (or their clocks are apart)');
      else logger.warn({ error: describeError(error) }, 'tenants directory lookup failed');
      if (stale) return stale.entry;
      if (refusedGateway) throw geofedError(ErrorCode.SUBGRAPH_REJECTED_GATEWAY, 'The tenants directory refused this gateway\'s requests: the deployment is misconfigured, not your request. Retry later.');
      throw geofedError(ErrorCode.DIRECTORY_UNAVAILABLE, 'The tenants directory cannot be reached, so the tenant\'s region is unknown; retry shortly.');
    }
  }

  return {
    get held() {
      return { tenants: known.size, unknown: unknown.size };
    },
    invalidate(tenantId, changed) {
      generation += 1;
      pending.delete(tenantId);
      unknown.delete(tenantId);
      const cached = known.get(tenantId);
      if (cached?.entry && changed) known.set(tenantId, { entry: { ...cached.entry, ...changed }, expiresAt: now() + ttlMs });
      else known.delete(tenantId);
    },
    lookup(tenantId) {
      // A hit makes the entry the most recently used of its cache.
      const cached = known.get(tenantId) ?? unknown.get(tenantId);
      if (cached && cached.expiresAt > now()) return Promise.resolve(cached.entry);
      let lookup = pending.get(tenantId);
      if (!lookup) {
        // Deleted in a microtask after the set below, even when fetchEntry throws synchronously:
        // a settled lookup left in `pending` would answer for the tenant forever. Only its own entry: after an
        // invalidation a newer lookup may stand there.
        const started: Promise<TenantEntry | null> = refresh(tenantId, cached).finally(() => {
          if (pending.get(tenantId) === started) pending.delete(tenantId);
        });
        lookup = started;
        pending.set(tenantId, lookup);
      }
      return lookup;
    },
  };
}

/**
 * The directory's subgraph (the catalog), read with signed lookups and cached
 * as `cachedTenantDirectory` describes: the gateway region's instance, and
 * when it cannot answer the next region's, so that the directory is
 * unavailable only when every region's lookup fails. A lookup (a cache miss)
 * is a span, whose trace context the lookups sign: the catalog's spans join it.
 */
export function subgraphTenantDirectory({ urls, secret, ttlMs, notFoundTtlMs, timeoutMs, maxEntries, maxNotFound, dispatcher }: DirectoryOptions): CachedTenantDirectory {
  const lookupAt = async (url: string, tenantId: string): Promise<TenantEntry | null> => {
    const trace = activeTraceContext();
    const answer = await postSignedGraphQL<{ tenantDirectoryEntry: RawEntry | null }>(
      url,
      { query: directoryQuery, variables: { id: tenantId } },
      { secret, timeoutMs, ...(dispatcher ? { dispatcher } : {}), ...(trace ? { trace } : {}) },
    );
    // An error is not an answer: only a lookup that resolved says whether the tenant exists.
    if (answer.status !== 200 || !answer.body.data || (answer.body.errors?.length ?? 0) > 0) {
      throw Object.assign(new Error(`the directory answered HTTP ${answer.status}`), { code: answer.body.errors?.[0]?.extensions?.code ?? `HTTP_${answer.status}` });
    }
    const raw = answer.body.data.tenantDirectoryEntry;
    return raw ? { id: raw.id, region: raw.region.toLowerCase(), billingPlan: raw.plan, status: raw.status === 'SUSPENDED' ? 'suspended' : 'active' } : null;
  };
  const lookup = async (tenantId: string, settle: (outcome: 'found' | 'not_found' | 'failed', attempts: number) => void): Promise<TenantEntry | null> => {
    const errors: unknown[] = [];
    for (const url of urls) {
      try {
        const entry = await lookupAt(url, tenantId);
        settle(entry ? 'found' : 'not_found', errors.length + 1);
        return entry;
      } catch (error) {
        errors.push(error);
      }
    }
    settle('failed', errors.length);
    // A refused signature says more than an unreachable region: it names the deployment's mistake.
    throw errors.find(refusedThisGateway) ?? errors.at(-1);
  };
  return cachedTenantDirectory(
    (tenantId) =>
      inSpan('geofed.directory.lookup', {}, (span) =>
        lookup(tenantId, (outcome, attempts) => span.setAttributes({ [traceAttributes.outcome]: outcome, 'geofed.directory.attempts': attempts })),
      ),
    { ttlMs, notFoundTtlMs, maxEntries, maxNotFound },
  );
}

interface RawEntry { id: string; region: string; plan: string; status: string }

function refusedThisGateway(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === ErrorCode.GATEWAY_SIGNATURE_REFUSED;
}

/**
 * A deployment without a directory (drop-in mode, a Rover file): every tenant
 * whose token verifies is served, in the one region, on the default billing plan.
 */
export function staticTenantDirectory(region: string, billingPlan: string): TenantDirectory {
  return { lookup: async (id) => ({ id, region, billingPlan, status: 'active' }) };
}
