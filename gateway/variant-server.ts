import type { GraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, type ApolloServerOptions, type ApolloServerPlugin } from '@apollo/server';
import { buildASTSchema, parse } from 'graphql';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { costSites, fieldOwnershipOf, taggedFields, type ScopeOf } from '../plugins/field-ownership.js';
import { operationLimits } from '../plugins/operation-limits.js';
import type { BucketStore } from '../plugins/rate-limit/store.js';
import { ErrorCode } from '../protocol/errors.js';
import { apolloOffline } from '../runtime/apollo-offline.js';
import type { GeofedConfig } from './config.js';
import type { GatewayEnv } from './env.js';
import { errorMasking } from './error-masking.js';
import type { GatewayMetrics } from './metrics.js';
import type { queryPlanStore } from './operation-caches.js';
import { offlineApolloGateway } from './offline-apollo-gateway.js';
import { pluginChain, type SupergraphAnalysis } from './plugin-chain.js';
import type { GatewayContext } from './request-context.js';
import { versionNote, type Variant } from './variants.js';

type PlanStore = ReturnType<typeof queryPlanStore>;

export interface VariantServerOptions {
  readonly config: GeofedConfig;
  readonly variant: Variant;
  readonly supergraphSdl: string;
  readonly env: GatewayEnv;
  readonly metrics: GatewayMetrics;
  readonly scopeOf: ScopeOf;
  /** The data source of one subgraph at this variant's version (shared by the variants that run it). */
  readonly dataSource: (subgraph: string) => GraphQLDataSource<GatewayContext>;
  /** Shared by every variant: Apollo Server's document store keys documents by the schema's hash already. */
  readonly documents: ApolloServerOptions<GatewayContext>['documentStore'];
  /** Shared by every variant, each under a prefix of its own (a plan belongs to one supergraph). */
  readonly queryPlans: PlanStore;
  readonly persistedQueries: { readonly options: ApolloServerOptions<GatewayContext>['persistedQueries']; readonly plugins: readonly ApolloServerPlugin<GatewayContext>[] };
  readonly bucketStore: BucketStore | undefined;
  /** After geofed's own plugins (the test stack's hooks). */
  readonly plugins: readonly ApolloServerPlugin<GatewayContext>[];
}

export interface VariantServer {
  readonly variant: Variant;
  readonly server: ApolloServer<GatewayContext>;
  readonly analysis: SupergraphAnalysis;
}

/**
 * The Apollo Gateway and Server of one variant: its own supergraph, query planner and plans, cost model,
 * field ownership (residency and cache analyses) and plugin chain, over the data sources of its versions.
 * A validation error says which versions validated the operation: a tenant on the stable side learns why a
 * field of the canary is unknown to it.
 */
export async function startVariantServer(options: VariantServerOptions): Promise<VariantServer> {
  const { config, variant, supergraphSdl, env, metrics, scopeOf } = options;
  const ownership = fieldOwnershipOf(supergraphSdl);
  const analysis: SupergraphAnalysis = {
    schema: buildASTSchema(parse(supergraphSdl), { assumeValidSDL: true }),
    ownership,
    costModel: buildCostModel(supergraphSdl, { ...config.cost, siteOf: costSites(ownership, scopeOf), estimateBytes: config.memory.costEstimateBytes }),
    piiFields: taggedFields(supergraphSdl, 'pii'),
  };
  const gateway = offlineApolloGateway({
    supergraphSdl,
    queryPlannerConfig: { cache: prefixed(options.queryPlans, `${variant.id}:`) },
    buildService: ({ name }) => options.dataSource(name),
  });
  const masking = errorMasking({ hideSchemaDetails: env.production, exposeServiceNames: config.gateway.errorServiceNames });
  const note = versionNote(config, variant);
  const server = new ApolloServer<GatewayContext>({
    gateway,
    persistedQueries: options.persistedQueries.options,
    documentStore: options.documents,
    // No usage or schema reports to Apollo and no Apollo landing page, whatever APOLLO_* says (docs/landing-page.md).
    plugins: [
      ...apolloOffline(),
      ...pluginChain({ config, analysis: () => analysis, scopeOf, persistedQueries: options.persistedQueries.plugins, bucketStore: options.bucketStore, registry: metrics.registry }),
      ...options.plugins,
    ],
    ...operationLimits(config.limits),
    includeStacktraceInErrorResponses: false,
    introspection: config.gateway.introspection,
    // No "Did you mean …" in production: suggestions leak the schema to a prober.
    hideSchemaDetailsFromClientErrors: env.production,
    // Shutdown is ours: the process drains HTTP first, then stops Apollo (see runtime/process.ts).
    stopOnTerminationSignals: false,
    formatError: (formatted, error) => {
      const masked = masking(formatted, error);
      return note !== undefined && masked.extensions?.code === ErrorCode.GRAPHQL_VALIDATION_FAILED ? { ...masked, message: `${masked.message} (validated against ${note})` } : masked;
    },
  });
  await server.start();
  return { variant, server, analysis };
}

/**
 * One variant's plans in the pipeline's bounded store. Apollo clears its plan store when it loads a schema,
 * which a variant does once, before it serves: the shared store is left to its LRU instead.
 */
function prefixed(store: PlanStore, prefix: string): Pick<PlanStore, 'get' | 'set' | 'delete'> & { clear(): void } {
  return {
    get: (key) => store.get(`${prefix}${key}`),
    set: (key, value, setOptions) => store.set(`${prefix}${key}`, value, setOptions),
    delete: (key) => store.delete(`${prefix}${key}`),
    clear: () => undefined,
  };
}
