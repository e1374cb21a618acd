import { readFileSync } from 'node:fs';
import { buildASTSchema, parse } from 'graphql';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { buildCostModel } from '../plugins/cost/calculator.js';
import { costSites, fieldOwnershipOf, hasRegionalLiterals, taggedFields } from '../plugins/field-ownership.js';
import { operationLimits } from '../plugins/operation-limits.js';
import { persistedQueries } from '../plugins/persisted-queries/index.js';
import { memoryBucketStore } from '../plugins/rate-limit/memory-store.js';
import { bucketStoreOf } from '../plugins/rate-limit/store-of.js';
import { postSignedGraphQL } from '../protocol/signed-client.js';
import { apolloOffline } from '../runtime/apollo-offline.js';
import { startHttpServer } from '../runtime/http-server.js';
import { logger } from '../runtime/logger.js';
import { composeSupergraph, type CompositionResult } from './compose.js';
import { ConfigError, findSubgraph, scopeLookup, type GeofedConfig } from './config.js';
import { gatewayEnv, type GatewayEnv } from './env.js';
import { errorMasking } from './error-masking.js';
import { withClientSignals } from './client-signal.js';
import { SubgraphLimits } from './fetch-gate.js';
import { GatewayMetrics } from './metrics.js';
import { pluginChain, type SupergraphAnalysis } from './plugin-chain.js';
import { readinessProbe } from './readiness.js';
import { RegionalDataSource, type SubgraphResponseObserver } from './regional-data-source.js';
import { homeForwarder } from './home-forwarding.js';
import { memoryGauges } from './memory-metrics.js';
import { documentStore, queryPlanStore } from './operation-caches.js';
import { withLandingPage } from './landing-page.js';
import { memoryNonceStore } from '../runtime/nonce-store.js';
import { upstashNonceStore } from './nonce-store.js';
import { callerResolver, type GatewayContext } from './request-context.js';
import { requestCaller } from './request-scope.js';
import { gatewayRoutes } from './routes.js';
import { signingFetcher } from './signing-fetcher.js';
import { subgraphFetcher } from './subgraph-fetcher.js';
import { SupergraphSource, type ReloadResult, type SupergraphStatus } from './supergraph-source.js';
import { staticTenantDirectory, subgraphTenantDirectory, type TenantDirectory } from './tenant-directory.js';
import { tokenVerifier } from './tokens.js';
import { clientHeaders } from '../protocol/headers.js';

export interface GatewayOptions {
  readonly config: GeofedConfig;
  /** @default the process environment, read once (env.ts) */
  readonly env?: GatewayEnv;
  /** @default env.host */
  readonly host?: string;
  /** @default config.gateway.port */
  readonly port?: number;
  /** @default the config's directory subgraph in the gateway's region, cached for gateway.tenant_cache_ttl_ms */
  readonly directory?: TenantDirectory;
  /** The config as it is now, read again on every reload. @default the config given at start */
  readonly reloadConfig?: () => GeofedConfig;
  /** Reload when supergraph.yaml or a subgraph SDL file changes. @default false */
  readonly watch?: boolean;
  /** Drop-in mode: serve the composed supergraph file as it is (see drop-in.ts). @default composing the config's subgraphs */
  readonly compose?: (config: GeofedConfig) => Promise<CompositionResult>;
  /** More plugins, after geofed's own (the test stack's hooks). */
  readonly plugins?: readonly ApolloServerPlugin<GatewayContext>[];
  /** Sees every subgraph response (the test stack's hooks). */
  readonly observeSubgraphResponse?: SubgraphResponseObserver;
}

export interface RunningGateway {
  /** Base URL; GraphQL is served on `${url}/graphql`. */
  readonly url: string;
  readonly metrics: GatewayMetrics;
  /** Recomposes from the config's subgraphs and swaps the supergraph if it composes (also on SIGHUP in `npm run gateway`). */
  reload(): Promise<ReloadResult>;
  supergraph(): SupergraphStatus;
  /** Drains in-flight requests, then stops. */
  stop(): Promise<void>;
}

/**
 * The gateway's composition root: it wires the steps of a request (README,
 * "How a request is served") and owns nothing else. Routes (routes.ts) →
 * context (request-context.ts) → plugins (plugin-chain.ts) → Apollo's plan →
 * fetches (regional-data-source.ts) → response plugins.
 */
export async function startGateway({
  config,
  env = gatewayEnv(),
  host = env.host,
  port = config.gateway.port,
  directory,
  reloadConfig = () => config,
  watch = false,
  compose,
  plugins = [],
  observeSubgraphResponse,
}: GatewayOptions): Promise<RunningGateway> {
  const region = config.gateway.region;
  const scopeOf = scopeLookup(config);
  const analyse = (sdl: string): SupergraphAnalysis => {
    const ownership = fieldOwnershipOf(sdl);
    return {
      schema: buildASTSchema(parse(sdl), { assumeValidSDL: true }),
      ownership,
      costModel: buildCostModel(sdl, { ...config.cost, siteOf: costSites(ownership, scopeOf), estimateBytes: config.memory.costEstimateBytes }),
      piiFields: taggedFields(sdl, 'pii'),
    };
  };
  const metrics = new GatewayMetrics();
  const secret = env.subgraphSecrets.current;
  const limits = new SubgraphLimits(config.subgraphLimits, metrics);
  const http = subgraphFetcher({ timeoutMs: config.gateway.subgraphTimeoutMs, connectionsPerOrigin: limits.connectionsPerOrigin(config.subgraphs.flatMap((s) => Object.values(s.urls))) });
  const fetcher = signingFetcher(http.fetcher, secret);
  const subgraphs = new Map(config.subgraphs.map((subgraph) => [subgraph.name, subgraph]));
  const introspect = async (url: string) => {
    const answer = await postSignedGraphQL<{ _service: { sdl: string } }>(url, { query: '{ _service { sdl } }' }, { secret, timeoutMs: config.gateway.subgraphTimeoutMs });
    const sdl = answer.body.data?._service.sdl;
    if (sdl === undefined) throw new Error(`HTTP ${answer.status}: no _service.sdl in the answer`);
    return sdl;
  };
  const supergraphSdl = config.supergraphPath !== undefined ? readSupergraph(config.supergraphPath) : await composeAtStart(config, introspect);
  // Rebuilt from the core supergraph (with its join and cost directives) on every schema load.
  let analysis = analyse(supergraphSdl);
  // A reload may change URLs or add subgraphs: Apollo builds the data sources again from this map.
  const source = new SupergraphSource(
    supergraphSdl,
    reloadConfig,
    (next) => {
      subgraphs.clear();
      for (const subgraph of next.subgraphs) subgraphs.set(subgraph.name, subgraph);
    },
    compose ?? ((next) => composeSupergraph(next, { introspect })),
  );

  const queryPlans = queryPlanStore(config.memory.queryPlanBytes);
  const gateway = new ApolloGateway({
    supergraphSdl: source,
    queryPlannerConfig: { cache: queryPlans },
    buildService: ({ name }) => {
      const subgraph = subgraphs.get(name);
      if (!subgraph) throw new ConfigError(`the supergraph has a subgraph "${name}" that ${config.file} does not declare`);
      return new RegionalDataSource({ subgraph, gatewayRegion: region, globalFailover: config.routing.globalFailover[region] ?? [], fetcher, metrics, circuitBreaker: config.circuitBreaker, limits, ...(observeSubgraphResponse ? { observeResponse: observeSubgraphResponse } : {}) });
    },
  });
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    analysis = analyse(coreSupergraphSdl);
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
  await server.start();

  const tenants =
    directory ??
    (config.tenantsDirectory !== undefined
      ? subgraphTenantDirectory({ urls: directoryUrls(config, config.tenantsDirectory), ttlMs: config.gateway.tenantCacheTtlMs, notFoundTtlMs: config.gateway.tenantNotFoundTtlMs, timeoutMs: config.gateway.subgraphTimeoutMs, maxEntries: config.memory.tenantEntries, maxNotFound: config.memory.unknownTenantEntries, secret })
      : staticTenantDirectory(region, config.rateLimits.defaultPlan));
  const forwarder = homeForwarder({ gateways: config.gateways, from: region, hopSecret: env.hopSecrets.current, timeoutMs: config.routing.forwardTimeoutMs, registry: metrics.registry });
  // Hop nonces are the region's: every gateway of a region refuses a hop another one accepted.
  const nonceEndpoint = env.regionalUpstash[region] ?? env.upstash;
  const nonces = nonceEndpoint ? upstashNonceStore({ ...nonceEndpoint, keyPrefix: 'geofed:hop:', timeoutMs: config.rateLimits.storeTimeoutMs }) : memoryNonceStore(config.memory.hopNonces);
  memoryGauges(metrics.registry, { tenants, buckets: bucketStore, nonces, persistedQueries: persisted.memoryHeld, documents, queryPlans, costEstimates: () => analysis.costModel.estimatesHeld, bounds: config.memory });
  const routes = gatewayRoutes({
    region,
    server,
    resolveCaller: callerResolver({ directory: tenants, verifier: tokenVerifier(config.auth, env), regions: config.regions }),
    clientKey: config.rateLimits.anonymous.clientKey,
    maxBodyBytes: config.gateway.maxBodyBytes,
    allowedOrigins: config.cors.allowedOrigins,
    remoteExecution: config.routing.remoteExecution,
    forwarder,
    hop: { secrets: env.hopSecrets.accepted, windowSeconds: config.routing.hopWindowSeconds, nonces },
    publicUrls: Object.fromEntries(Object.entries(config.gateways).map(([r, g]) => [r, g.publicUrl])),
    metrics,
    ready: readinessProbe(config.subgraphs.map((s) => ({ name: s.name, url: s.urls[region]! })), secret),
    supergraph: () => source.current(),
  });
  const listener = await startHttpServer({ host, port, routes: withClientSignals(withLandingPage(routes, { enabled: config.gateway.landingPage ?? !env.production })), onResponse: (res) => res.setHeader(clientHeaders.gatewayRegion, region) });
  logger.info({ url: listener.url, region, supergraph: source.current().version }, 'gateway listening');
  if (watch) source.watch();
  return {
    url: listener.url,
    metrics,
    reload: () => source.reload(),
    supergraph: () => source.current(),
    async stop() {
      source.unwatch();
      await listener.stop();
      await server.stop();
      await http.close();
      await forwarder.close();
      await nonces.close();
      await bucketStore?.close();
    },
  };
}

/** The directory subgraph's instances, the gateway's own region first, then its failover order. */
function directoryUrls(config: GeofedConfig, name: string): string[] {
  const { urls } = findSubgraph(config, name);
  return [config.gateway.region, ...(config.routing.globalFailover[config.gateway.region] ?? [])].flatMap((r) => (urls[r] === undefined ? [] : [urls[r]]));
}

async function composeAtStart(config: GeofedConfig, introspect: (url: string) => Promise<string>): Promise<string> {
  const result = await composeSupergraph(config, { introspect });
  if (!result.ok) throw new ConfigError(`${config.file}: the subgraphs do not compose:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
  return result.supergraphSdl;
}

function readSupergraph(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the supergraph ${path}: ${(error as Error).message} (run \`npx geofed compose\`)`);
  }
}
