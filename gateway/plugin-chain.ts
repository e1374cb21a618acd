import type { ApolloServerPlugin, GraphQLRequestContext } from '@apollo/server';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import type { GraphQLSchema } from 'graphql';
import type { Registry } from 'prom-client';
import { cdnCachePlugin } from '../plugins/cdn-cache.js';
import type { CostModel } from '../plugins/cost/calculator.js';
import { costPlugin } from '../plugins/cost/index.js';
import { globalFields, type FieldOwnership, type ScopeOf } from '../plugins/field-ownership.js';
import { httpStatusPlugin } from '../plugins/http-status.js';
import { inputSafetyPlugin } from '../plugins/input-safety.js';
import { jurisdictionPlugin } from '../plugins/jurisdiction.js';
import { persistedQueryMetricsPlugin } from '../plugins/persisted-queries/metrics.js';
import { operationDedupPlugin } from '../plugins/operation-dedup.js';
import { tokenLimitPlugin } from '../plugins/operation-limits.js';
import { rateLimitPlugin } from '../plugins/rate-limit/index.js';
import type { BucketStore } from '../plugins/rate-limit/store.js';
import { tracedBucketStore } from '../plugins/rate-limit/traced-store.js';
import { readYourWritesPlugin } from '../plugins/read-your-writes.js';
import { tracingPlugin } from '../plugins/tracing.js';
import type { GeofedConfig } from './config.js';
import { forwardedHeaders } from './forwarded-headers.js';
import type { GatewayContext } from './request-context.js';

/** What the plugins read of the supergraph being served; rebuilt on every schema load. */
export interface SupergraphAnalysis {
  /** The supergraph as a schema, to read client documents against. */
  readonly schema: GraphQLSchema;
  readonly ownership: FieldOwnership;
  readonly costModel: CostModel;
  /** `Type.field` of the fields tagged pii. */
  readonly piiFields: ReadonlySet<string>;
}

export interface PluginChainOptions {
  readonly config: GeofedConfig;
  readonly analysis: () => SupergraphAnalysis;
  readonly scopeOf: ScopeOf;
  /** The persisted-query plugins: first, so that a safelist refusal is what the later plugins see. */
  readonly persistedQueries: readonly ApolloServerPlugin<GatewayContext>[];
  /** Undefined when rate limits are off. */
  readonly bucketStore: BucketStore | undefined;
  readonly registry: Registry;
}

/**
 * Step 4 of a request, and the response side of step 8: the plugins in the
 * order a request meets them. Before any subgraph is called: the persisted
 * query is checked, input graphql-js or a database would turn into a 500 is
 * refused with a 4xx, an anonymous operation that reads regional data is
 * refused, the operation is priced and refused over the maximum, and its cost
 * is debited from the caller's budgets (each limit only reported, never
 * refusing, in its `measure` mode). Then Apollo plans and fetches through
 * the regional data source (regional-data-source.ts). On the way out:
 * consistency token, Cache-Control, region and RateLimit headers, the status.
 */
export function pluginChain({ config, analysis, scopeOf, persistedQueries, bucketStore, registry }: PluginChainOptions): ApolloServerPlugin<GatewayContext>[] {
  const model = () => analysis().costModel;
  const { maxOperationCost, mode: costMode } = config.cost;
  // An operation over the maximum is refused before its debit only when the cost is enforced; a measured one runs and pays.
  const debitedUpTo = costMode === 'enforce' ? maxOperationCost : Infinity;
  return [
    // First: it names the operation's span (runtime/apollo-http.ts) before any other plugin can refuse it.
    tracingPlugin(),
    ...persistedQueries,
    persistedQueryMetricsPlugin(registry),
    // Parsing is Apollo's, with limits.max_tokens (operation-limits.ts): this words its refusal.
    tokenLimitPlugin(config.limits),
    inputSafetyPlugin(),
    jurisdictionPlugin({ ownership: () => analysis().ownership, scopeOf, registry }),
    costPlugin({ model, maxOperationCost, mode: costMode, registry }),
    ...(bucketStore ? [rateLimitPlugin({ model, settings: config.rateLimits, maxOperationCost: debitedUpTo, gatewayRegion: config.gateway.region, store: tracedBucketStore(bucketStore), registry })] : []),
    // After every check and debit, which each request passes on its own.
    ...(config.subgraphLimits.dedup ? [operationDedupPlugin<GatewayContext>({ callerIdentity: callerIdentity(config.forwardHeaders), shareContext: shareServingRegions, registry })] : []),
    readYourWritesPlugin<GatewayContext>((context) => context.consistency.written),
    // Hints are gathered but Cache-Control is written by cdnCachePlugin alone.
    ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
    cdnCachePlugin({ maxAge: config.cacheControl.maxAge, isGlobal: () => globalFields(analysis().ownership, scopeOf), piiFields: () => analysis().piiFields, registry }),
    httpStatusPlugin(),
  ];
}

/**
 * Everything a query's answer depends on besides the operation: the whole caller (tenant, user, roles, region) or
 * the anonymous client, the consistency token it asked for, and the client headers passed on to the subgraphs.
 */
function callerIdentity(forward: readonly string[]) {
  return ({ contextValue, request }: GraphQLRequestContext<GatewayContext>): string => {
    const { caller, clientKey, consistency } = contextValue;
    const who = caller ? ['tenant', caller.tenantId, caller.userId, caller.region, ...[...caller.roles].sort()] : ['client', clientKey];
    return JSON.stringify([who, consistency.requested ?? null, forwardedHeaders(forward, request.http?.headers)]);
  };
}

function shareServingRegions(from: GatewayContext, to: GatewayContext): void {
  for (const region of from.dataRegions) to.dataRegions.add(region);
  for (const region of from.globalRegions) to.globalRegions.add(region);
}
