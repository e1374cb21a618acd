import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildASTSchema, parse } from 'graphql';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { costSites, fieldOwnershipOf, hasRegionalLiterals, taggedFields } from '../plugins/field-ownership.js';
import { operationLimits } from '../plugins/operation-limits.js';
import { persistedQueries } from '../plugins/persisted-queries/index.js';
import { memoryBucketStore } from '../plugins/rate-limit/memory-store.js';
import { bucketStoreOf } from '../plugins/rate-limit/store-of.js';
import { apolloOffline } from '../runtime/apollo-offline.js';
import type { NonceStore } from '../runtime/nonce-store.js';
import type { BreakerState } from './circuit-breaker.js';
import { ConfigError, findSubgraph, scopeLookup, type GeofedConfig } from './config.js';
import type { GatewayEnv } from './env.js';
import { errorMasking } from './error-masking.js';
import { SubgraphLimits } from './fetch-gate.js';
import { homeForwarder } from './home-forwarding.js';
import type { MemorySources } from './memory-metrics.js';
import type { GatewayMetrics } from './metrics.js';
import { documentStore, queryPlanStore } from './operation-caches.js';
import { pluginChain, type SupergraphAnalysis } from './plugin-chain.js';
import { RegionalDataSource, type SubgraphResponseObserver } from './regional-data-source.js';
import { callerResolver, type Caller, type GatewayContext } from './request-context.js';
import { requestCaller } from './request-scope.js';
import { graphqlRoute } from './routes.js';
import { signingFetcher } from './signing-fetcher.js';
import { subgraphFetcher } from './subgraph-fetcher.js';
import { staticTenantDirectory, subgraphTenantDirectory, type TenantDirectory } from './tenant-directory.js';
import { tokenVerifier } from './tokens.js';

export interface PipelineOptions {
  readonly config: GeofedConfig;
  /** The core supergraph SDL to serve. */
  readonly supergraphSdl: string;
  readonly env: GatewayEnv;
  /** Kept across reloads: counters carry on. */
  readonly metrics: GatewayMetrics;
  /** Kept across reloads: a hop accepted before a reload is still refused after it. */
  readonly nonces: NonceStore;
  /** @default the config's directory subgraph in the gateway's region */
  readonly directory?: TenantDirectory;
  readonly plugins: readonly ApolloServerPlugin<GatewayContext>[];
  readonly observeSubgraphResponse?: SubgraphResponseObserver;
}

/** `{ us: 'closed', eu: 'open' }` by subgraph: what each region's circuit breaker makes of it now. */
export type BreakerStates = Readonly<Record<string, Readonly<Record<string, BreakerState>>>>;

/** Everything a request meets that a config and a supergraph decide; built again, whole, on every reload. */
export interface Pipeline {
  readonly config: GeofedConfig;
  readonly supergraphSdl: string;
  /** Its per-key caches, for the memory gauges (memory-metrics.ts). */
  readonly memory: MemorySources;
  /** Serves one GraphQL request (README, "How a request is served"); resolves to its caller, once answered. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<Caller | null>;
  breakerStates(): BreakerStates;
  /** Waits for the requests it is serving (up to `drainMs`), then closes its server, clients and stores. */
  retire(drainMs: number): Promise<void>;
}

/**
 * The request path of one config and one supergraph: Apollo Gateway and
 * Server, the plugins (plugin-chain.ts), the subgraph clients, the tenants
 * directory and the forwarder, wired from that config alone. A reload builds
 * a new one and swaps it in between requests (config-reload.ts): in-flight
 * requests finish on the one they started with, so every key of
 * supergraph.yaml applies as it was read.
 */
export async function buildPipeline({ config, supergraphSdl, env, metrics, nonces, directory, plugins, observeSubgraphResponse }: PipelineOptions): Promise<Pipeline> {
  const region = config.gateway.region;
  const scopeOf = scopeLookup(config);
  const ownership = fieldOwnershipOf(supergraphSdl);
  const analysis: SupergraphAnalysis = {
    schema: buildASTSchema(parse(supergraphSdl), { assumeValidSDL: true }),
    ownership,
    costModel: buildCostModel(supergraphSdl, { ...config.cost, siteOf: costSites(ownership, scopeOf), estimateBytes: config.memory.costEstimateBytes }),
    piiFields: taggedFields(supergraphSdl, 'pii'),
  };
  const secret = env.subgraphSecrets.current;
  const limits = new SubgraphLimits(config.subgraphLimits, metrics);
  const http = subgraphFetcher({ timeoutMs: config.gateway.subgraphTimeoutMs, connectionsPerOrigin: limits.connectionsPerOrigin(config.subgraphs.flatMap((s) => Object.values(s.urls))) });
  const fetcher = signingFetcher(http.fetcher, secret);
  const dataSources = new Map<string, RegionalDataSource>();
  const queryPlans = queryPlanStore(config.memory.queryPlanBytes);
  const gateway = new ApolloGateway({
    supergraphSdl,
    queryPlannerConfig: { cache: queryPlans },
    buildService: ({ name }) => {
      const subgraph = config.subgraphs.find((s) => s.name === name);
      if (!subgraph) throw new ConfigError(`the supergraph has a subgraph "${name}" that ${config.file} does not declare`);
      const source = new RegionalDataSource({ subgraph, gatewayRegion: region, globalFailover: config.routing.globalFailover[region] ?? [], forwardHeaders: config.forwardHeaders, fetcher, metrics, circuitBreaker: config.circuitBreaker, limits, ...(observeSubgraphResponse ? { observeResponse: observeSubgraphResponse } : {}) });
      dataSources.set(name, source);
      return source;
    },
  });
  const bucketStore = !config.rateLimits.enabled ? undefined : env.upstash ? bucketStoreOf(env.upstash, config.rateLimits.storeTimeoutMs) : memoryBucketStore(Date.now, { maxBuckets: config.memory.rateLimitBuckets });
  const persisted = persistedQueries({
    ...config.persistedQueries,
    memoryBytes: config.memory.persistedQueryBytes,
    stores: {
      shared: env.upstash,
      regional: env.regionalUpstash,
      homeRegion: () => requestCaller.getStore()?.region,
      isRegional: (document) => {
        try {
          return hasRegionalLiterals(analysis.schema, parse(document), analysis.ownership, scopeOf);
        } catch {
          // Not a document Apollo could run: nothing of it is kept anywhere shared.
          return true;
        }
      },
    },
  });
  const documents = documentStore(config.memory.documentBytes);
  const server = new ApolloServer<GatewayContext>({
    gateway,
    persistedQueries: persisted.persistedQueries,
    documentStore: documents,
    // No usage or schema reports to Apollo and no Apollo landing page, whatever APOLLO_* says (docs/landing-page.md).
    plugins: [...apolloOffline(), ...pluginChain({ config, analysis: () => analysis, scopeOf, persistedQueries: persisted.plugins, bucketStore, registry: metrics.registry }), ...plugins],
    ...operationLimits(config.limits),
    includeStacktraceInErrorResponses: false,
    introspection: config.gateway.introspection,
    // No "Did you mean …" in production: suggestions leak the schema to a prober.
    hideSchemaDetailsFromClientErrors: env.production,
    // Shutdown is ours: the process drains HTTP first, then stops Apollo (see runtime/process.ts).
    stopOnTerminationSignals: false,
    formatError: errorMasking({ hideSchemaDetails: env.production, exposeServiceNames: config.gateway.errorServiceNames }),
  });
  const forwarder = homeForwarder({ gateways: config.gateways, from: region, hopSecret: env.hopSecrets.current, timeoutMs: config.routing.forwardTimeoutMs, registry: metrics.registry });
  const close = async () => {
    await server.stop();
    await Promise.allSettled([http.close(), forwarder.close(), bucketStore?.close()]);
  };
  try {
    await server.start();
  } catch (error) {
    await close();
    throw error;
  }

  const tenants =
    directory ??
    (config.tenantsDirectory !== undefined
      ? subgraphTenantDirectory({ urls: directoryUrls(config, config.tenantsDirectory), ttlMs: config.gateway.tenantCacheTtlMs, notFoundTtlMs: config.gateway.tenantNotFoundTtlMs, timeoutMs: config.gateway.subgraphTimeoutMs, maxEntries: config.memory.tenantEntries, maxNotFound: config.memory.unknownTenantEntries, secret })
      : staticTenantDirectory(region, config.rateLimits.defaultPlan));
  const serve = graphqlRoute({
    region,
    server,
    // A forwarded authorization is the subgraphs' to verify (config-schema.ts allows it only without regional subgraphs):
    // to the gateway its caller is anonymous, budgeted per client address.
    resolveCaller: config.forwardHeaders.includes('authorization') ? async () => null : callerResolver({ directory: tenants, verifier: tokenVerifier(config.auth, env), regions: config.regions }),
    clientKey: config.rateLimits.anonymous.clientKey,
    maxBodyBytes: config.gateway.maxBodyBytes,
    allowedOrigins: config.cors.allowedOrigins,
    forwardedHeaders: config.forwardHeaders,
    remoteExecution: config.routing.remoteExecution,
    forwarder,
    hop: { secrets: env.hopSecrets.accepted, windowSeconds: config.routing.hopWindowSeconds, nonces },
    publicUrls: Object.fromEntries(Object.entries(config.gateways).map(([r, g]) => [r, g.publicUrl])),
    metrics,
  });

  let inFlight = 0;
  let idle: (() => void) | undefined;
  return {
    config,
    supergraphSdl,
    memory: { tenants, buckets: bucketStore, nonces, persistedQueries: persisted.memoryHeld, documents, queryPlans, costEstimates: () => analysis.costModel.estimatesHeld, bounds: config.memory },
    async serve(req, res, url) {
      inFlight += 1;
      try {
        return await serve(req, res, url);
      } finally {
        inFlight -= 1;
        if (inFlight === 0) idle?.();
      }
    },
    breakerStates: () => Object.fromEntries([...dataSources].map(([name, source]) => [name, source.breakerStates()])),
    async retire(drainMs) {
      if (inFlight > 0) {
        const drained = new Promise<void>((resolve) => {
          idle = resolve;
        });
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
        clearTimeout(timer);
      }
      await close();
    },
  };
}

/** The directory subgraph's instances, the gateway's own region first, then its failover order. */
function directoryUrls(config: GeofedConfig, name: string): string[] {
  const { urls } = findSubgraph(config, name);
  return [config.gateway.region, ...(config.routing.globalFailover[config.gateway.region] ?? [])].flatMap((r) => (urls[r] === undefined ? [] : [urls[r]]));
}
