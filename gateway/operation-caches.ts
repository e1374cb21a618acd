import type { GatewayConfig } from '@apollo/gateway';
import type { DocumentNode } from 'graphql';
import { BoundedCache, cacheEntryOverheadBytes } from '../runtime/bounded-cache.js';

/**
 * Apollo's two per-operation caches, bounded by what they hold in the heap
 * (`memory.document_bytes`, `memory.query_plan_bytes`). Apollo's own defaults
 * are LRUs of 30 MiB of JSON each (`InMemoryLRUCache`); a parsed document
 * (with its locations and tokens) or a query plan takes about five times its
 * JSON in the heap, and every entry its key and slot besides, so those
 * defaults held some 150 MB each, and more with small operations
 * (bench/memory.ts).
 */

/** `memory.document_bytes`: 64 MiB. */
export const defaultDocumentBytes = 64 * 1024 * 1024;
/** `memory.query_plan_bytes`: 64 MiB. */
export const defaultQueryPlanBytes = 64 * 1024 * 1024;

/** A cached entry's heap bytes per byte of its JSON (measured: 4.4–5.5 for documents and plans). */
const heapPerJsonByte = 5;

/** Approximate heap bytes of an object kept under `key`: five times its JSON, its key and its slot. */
export function objectHeapBytes(value: object, key: string): number {
  return heapPerJsonByte * JSON.stringify(value).length + key.length + cacheEntryOverheadBytes;
}

/** Apollo Server's `documentStore`: parsed and validated operations by their hash (one per schema, the key prefixed by the schema's hash). */
export function documentStore(maxBytes: number = defaultDocumentBytes): BoundedCache<DocumentNode> {
  return new BoundedCache<DocumentNode>({ maxBytes, sizeOf: objectHeapBytes });
}

type QueryPlanCache = NonNullable<NonNullable<GatewayConfig['queryPlannerConfig']>['cache']>;
type QueryPlan = NonNullable<Awaited<ReturnType<QueryPlanCache['get']>>>;

/** Apollo Gateway's `queryPlannerConfig.cache`: query plans by operation (hash and name), cleared by Apollo on every schema change. */
export function queryPlanStore(maxBytes: number = defaultQueryPlanBytes): BoundedCache<QueryPlan> & QueryPlanCache {
  return new BoundedCache<QueryPlan>({ maxBytes, sizeOf: objectHeapBytes });
}
