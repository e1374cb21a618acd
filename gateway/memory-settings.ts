import { defaultCostEstimateBytes } from '../plugins/cost/calculator.js';
import { defaultPersistedQueryBytes } from '../plugins/persisted-queries/resident-store.js';
import { defaultMemoryBuckets } from '../plugins/rate-limit/memory-store.js';
import { maxRememberedNonces } from '../runtime/nonce-store.js';
import { positiveInteger, settingsSection } from '../runtime/settings.js';
import { defaultDocumentBytes, defaultQueryPlanBytes } from './operation-caches.js';
import { defaultTenantEntries, defaultUnknownTenantEntries } from './tenant-directory.js';

/**
 * `memory` of supergraph.yaml: the bound of everything the gateway keeps per
 * key in its own memory, each a bounded LRU (the least recently used
 * forgotten first), so that a flood of distinct keys (client addresses,
 * tenants, operations) cannot grow the process (docs/configuration.md,
 * "Memory"; bench/memory.ts). Bytes are approximate heap bytes.
 */
export const memorySettings = settingsSection({
  /** Tenants whose directory entry is kept; one forgotten is looked up again (and has no stale entry while the directory is down). */
  tenant_entries: positiveInteger.default(defaultTenantEntries),
  /** The directory's "no such tenant" answers kept, apart from the tenants' entries, so that unknown tenants never push a known one out. */
  unknown_tenant_entries: positiveInteger.default(defaultUnknownTenantEntries),
  /** Token buckets of the memory store (no UPSTASH_REDIS_REST_URL): one per anonymous client key and region, and per tenant and region; one forgotten is full again. */
  rate_limit_buckets: positiveInteger.default(defaultMemoryBuckets),
  /** Nonces of accepted hops remembered (no region store): a replay of a hop older than this many newer ones would pass. */
  hop_nonces: positiveInteger.default(maxRememberedNonces),
  /** Registered APQ documents kept in memory (no Upstash store), shared and every region's together; a client whose hash was forgotten sends the body again. */
  persisted_query_bytes: positiveInteger.default(defaultPersistedQueryBytes),
  /** Parsed and validated operations (Apollo Server's document store); one forgotten is parsed and validated again. */
  document_bytes: positiveInteger.default(defaultDocumentBytes),
  /** Query plans (Apollo Gateway's plan store); one forgotten is planned again. */
  query_plan_bytes: positiveInteger.default(defaultQueryPlanBytes),
  /** The cost model's estimates, keyed by the operation and the values of the variables its cost depends on; one forgotten is priced again. */
  cost_estimate_bytes: positiveInteger.default(defaultCostEstimateBytes),
}).prefault({});

export type MemorySettings = ReturnType<typeof memorySettings.parse>;
