import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse } from 'graphql';
import type { ApolloServerPlugin } from '@apollo/server';
import { hasRegionalLiterals } from '../plugins/field-ownership.js';
import { persistedQueries } from '../plugins/persisted-queries/index.js';
import type { BucketStore } from '../plugins/rate-limit/store.js';
import { bucketStoreOf } from '../plugins/rate-limit/store-of.js';
import type { NonceStore } from '../runtime/nonce-store.js';
import type { BreakerState } from './circuit-breaker.js';
import { ConfigError, findSubgraph, scopeLookup, type GeofedConfig } from './config.js';
import type { GatewayEnv } from './env.js';
import { SubgraphLimits } from './fetch-gate.js';
import { homeForwarder } from './home-forwarding.js';
import type { MemorySources } from './memory-metrics.js';
import type { GatewayMetrics } from './metrics.js';
import { documentStore, queryPlanStore } from './operation-caches.js';
import { RegionalDataSource, type SubgraphResponseObserver } from './regional-data-source.js';
import { callerResolver, type Caller, type GatewayContext } from './request-context.js';
import { requestCaller } from './request-scope.js';
import { graphqlRoute } from './routes.js';
import { signingFetcher } from './signing-fetcher.js';
import { subgraphFetcher } from './subgraph-fetcher.js';
import { staticTenantDirectory, subgraphTenantDirectory, type TenantDirectory } from './tenant-directory.js';
import { tokenVerifier } from './tokens.js';
import { rolloutCountsPlugin, type RolloutRecorder } from './rollout-plugin.js';
import type { RolloutView } from './rollout-state.js';
import { startVariantServer, type VariantServer } from './variant-server.js';
import { variantIdFor, variantInstance, variantsOf, type Variant } from './variants.js';
import { subgraphAt } from './versions.js';

export interface PipelineOptions {
  readonly config: GeofedConfig;
  /** The core supergraph SDL of the config's subgraphs (the base variant's, composed or read from `supergraph:`). */
  readonly supergraphSdl: string;
  /** Every variant's supergraph by variant id (variants.ts), the base one included. */
  readonly supergraphs: ReadonlyMap<string, string>;
  /** The live share and pinned tenants of each rollout, and the guard's counts (rollout-runtime.ts); its versions are the config's. */
  readonly rollouts: RolloutView & RolloutRecorder;
  readonly env: GatewayEnv;
  /** Kept across reloads: counters carry on. */
  readonly metrics: GatewayMetrics;
  /** Kept across reloads: a hop accepted before a reload is still refused after it. */
  readonly nonces: NonceStore;
  /** Kept across reloads: the memory store's buckets at a bound (keptMemoryBucketStore), when there is no Upstash. */
  readonly memoryBuckets: (maxBuckets: number) => BucketStore;
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
 * The request path of one config and its supergraphs: an Apollo Gateway and
 * Server with their plugins (plugin-chain.ts) per variant of the subgraphs'
 * versions (variant-server.ts, docs/rollouts.md), the subgraph clients, the
 * tenants directory and the forwarder, wired from that config alone. A reload builds
 * a new one and swaps it in between requests (config-reload.ts): in-flight
 * requests finish on the one they started with, so every key of
 * supergraph.yaml applies as it was read.
 */
export async function buildPipeline({ config, supergraphSdl, supergraphs, env, metrics, nonces, memoryBuckets, directory, plugins, observeSubgraphResponse, rollouts }: PipelineOptions): Promise<Pipeline> {
  const region = config.gateway.region;
  const scopeOf = scopeLookup(config);
  const secret = env.subgraphSecrets.current;
  const limits = new SubgraphLimits(config.subgraphLimits, metrics);
  const everyUrl = config.subgraphs.flatMap((s) => [s.urls, ...Object.values(s.versions).map((v) => v.urls)].flatMap((urls) => Object.values(urls)));
  const http = subgraphFetcher({ timeoutMs: config.gateway.subgraphTimeoutMs, connectionsPerOrigin: limits.connectionsPerOrigin([...new Set(everyUrl)]) });
  const fetcher = signingFetcher(http.fetcher, secret);
  // By instance (`users`, `users@v2`): the variants that run one version share its breakers and limiters.
  const dataSources = new Map<string, RegionalDataSource>();
  const dataSourceOf = (variant: Variant, name: string): RegionalDataSource => {
    const subgraph = config.subgraphs.find((s) => s.name === name);
    if (!subgraph) throw new ConfigError(`the supergraph has a subgraph "${name}" that ${config.file} does not declare`);
    const instance = variantInstance(config, variant, name);
    const known = dataSources.get(instance);
    if (known) return known;
    const deployed = { ...subgraphAt(subgraph, variant.versions[name]!), name: instance };
    const source = new RegionalDataSource({ subgraph: deployed, gatewayRegion: region, globalFailover: config.routing.globalFailover[region] ?? [], forwardHeaders: config.forwardHeaders, fetcher, metrics, circuitBreaker: config.circuitBreaker, limits, ...(observeSubgraphResponse ? { observeResponse: observeSubgraphResponse } : {}) });
    dataSources.set(instance, source);
    return source;
  };
  const queryPlans = queryPlanStore(config.memory.queryPlanBytes);
  const bucketStore = !config.rateLimits.enabled ? undefined : env.upstash ? bucketStoreOf(env.upstash, config.rateLimits.storeTimeoutMs) : memoryBuckets(config.memory.rateLimitBuckets);
  const variants = new Map<string, VariantServer>();
  const persisted = persistedQueries({
    ...config.persistedQueries,
    memoryBytes: config.memory.persistedQueryBytes,
    stores: {
      shared: env.upstash,
      regional: env.regionalUpstash,
      homeRegion: () => requestCaller.getStore()?.region,
      // Regional in any variant is regional: a field of a canary's is unknown to the stable supergraph.
      isRegional: (document) => {
        try {
          const parsed = parse(document);
          return [...variants.values()].some(({ analysis }) => hasRegionalLiterals(analysis.schema, parsed, analysis.ownership, scopeOf));
        } catch {
          // Not a document Apollo could run: nothing of it is kept anywhere shared.
          return true;
        }
      },
    },
  });
  const documents = documentStore(config.memory.documentBytes);
  const forwarder = homeForwarder({ gateways: config.gateways, from: region, hopSecret: env.hopSecrets.current, timeoutMs: config.routing.forwardTimeoutMs, registry: metrics.registry });
  const close = async () => {
    await Promise.allSettled([...variants.values()].map(({ server }) => server.stop()));
    await Promise.allSettled([http.close(), forwarder.close(), bucketStore?.close()]);
  };
  try {
    const started = await Promise.allSettled(
      variantsOf(config).map(async (variant) => {
        const sdl = supergraphs.get(variant.id);
        if (sdl === undefined) throw new ConfigError(`no supergraph was composed for ${variant.id} (${variant.servedTo.join('; ')})`);
        const persistedQueryPlugins = { options: persisted.persistedQueries, plugins: persisted.plugins };
        const dataSource = (name: string) => dataSourceOf(variant, name);
        variants.set(variant.id, await startVariantServer({ config, variant, supergraphSdl: sdl, env, metrics, scopeOf, dataSource, documents, queryPlans, persistedQueries: persistedQueryPlugins, bucketStore, plugins: [rolloutCountsPlugin(config, variant, rollouts), ...plugins] }));
      }),
    );
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (error) {
    await close();
    throw error;
  }
  /** The caller's home region's variant, on its canary side when the live share puts its tenant there. */
  const variantFor = (caller: Caller | null): VariantServer => {
    const id = variantIdFor(config, rollouts, caller?.region ?? region, caller?.tenantId);
    return variants.get(id) ?? variants.get(variantIdFor(config, rollouts, caller?.region ?? region, undefined))!;
  };

  const tenants =
    directory ??
    (config.tenantsDirectory !== undefined
      ? subgraphTenantDirectory({ urls: directoryUrls(config, config.tenantsDirectory), ttlMs: config.gateway.tenantCacheTtlMs, notFoundTtlMs: config.gateway.tenantNotFoundTtlMs, timeoutMs: config.gateway.subgraphTimeoutMs, maxEntries: config.memory.tenantEntries, maxNotFound: config.memory.unknownTenantEntries, secret })
      : staticTenantDirectory(region, config.rateLimits.defaultBillingPlan));
  const serve = graphqlRoute({
    region,
    serverFor: (caller) => {
      const { server, variant } = variantFor(caller);
      return { server, version: variant.id };
    },
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
    memory: { tenants, buckets: bucketStore, nonces, persistedQueries: persisted.memoryHeld, documents, queryPlans, costEstimates: () => costEstimatesOf(variants.values()), bounds: config.memory },
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

/** The cost models' estimates, every variant's together. */
function costEstimatesOf(variants: Iterable<VariantServer>): { entries: number; bytes: number } {
  let entries = 0;
  let bytes = 0;
  for (const { analysis } of variants) {
    const held = analysis.costModel.estimatesHeld;
    entries += held.entries;
    bytes += held.bytes;
  }
  return { entries, bytes };
}

/** The directory subgraph's instances, the gateway's own region first, then its failover order. */
function directoryUrls(config: GeofedConfig, name: string): string[] {
  const { urls } = findSubgraph(config, name);
  return [config.gateway.region, ...(config.routing.globalFailover[config.gateway.region] ?? [])].flatMap((r) => (urls[r] === undefined ? [] : [urls[r]]));
}
