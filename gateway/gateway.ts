import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { callerResolver, jurisdictionPlugin } from '../plugins/jurisdiction.js';
import { httpStatusPlugin } from '../plugins/http-status.js';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { cdnCachePlugin } from '../plugins/cdn-cache.js';
import { costPlugin } from '../plugins/cost/index.js';
import { buildCostModel, type CostModel } from '../plugins/cost/calculator.js';
import { operationLimits } from '../plugins/operation-limits.js';
import { persistedQueries } from '../plugins/persisted-queries/index.js';
import { rateLimitPlugin } from '../plugins/rate-limit/index.js';
import { bucketStoreFromEnv } from '../plugins/rate-limit/store-from-env.js';
import { readYourWritesPlugin, subgraphSessionsPlugin } from '../plugins/read-your-writes.js';
import { ConfigError, findSubgraph, type GeofedConfig } from './config.js';
import type { GatewayContext } from './context.js';
import { consistencyHeader, parseConsistencyToken } from './consistency-token.js';
import { costSites, fieldOwnershipOf, globalFields, scopeLookup, taggedFields, type FieldOwnership } from './field-ownership.js';
import { applyCors } from './cors.js';
import { apolloRoute, startHttpServer, writeJson } from './http-server.js';
import { logger } from './logger.js';
import { GatewayMetrics } from './metrics.js';
import { readinessProbe } from './readiness.js';
import { RegionalDataSource } from './regional-data-source.js';
import { subgraphSecrets } from './signed-context.js';
import type { CompositionResult } from '../schema/compose.js';
import { SupergraphSource, type ReloadResult, type SupergraphStatus } from './supergraph-source.js';
import { signingFetcher } from './signing-fetcher.js';
import { subgraphFetcher } from './subgraph-fetcher.js';
import { catalogTenantDirectory, type TenantDirectory } from './tenant-directory.js';
import { tokenVerifier } from './tokens.js';

export interface GatewayOptions {
  readonly config: GeofedConfig;
  readonly env?: NodeJS.ProcessEnv;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default config.gateway.port */
  readonly port?: number;
  /** @default the catalog of the gateway's region, cached for gateway.tenant_cache_ttl_ms */
  readonly directory?: TenantDirectory;
  /** Test-only: pass the database sessions that subgraphs report on to the client. */
  readonly forwardSubgraphSessions?: boolean;
  /** The config as it is now, read again on every reload. @default the config given at start */
  readonly reloadConfig?: () => GeofedConfig;
  /** Reload when supergraph.yaml or a subgraph SDL file changes. @default false */
  readonly watch?: boolean;
  /** Drop-in mode: serve the composed supergraph file as it is (see drop-in.ts). */
  readonly compose?: (config: GeofedConfig) => CompositionResult;
}

export interface RunningGateway {
  /** Base URL; GraphQL is served on `${url}/graphql`. */
  readonly url: string;
  readonly metrics: GatewayMetrics;
  /** Recomposes from the config's SDL files and swaps the supergraph if it composes (also on SIGHUP in `npm run gateway`). */
  reload(): Promise<ReloadResult>;
  supergraph(): SupergraphStatus;
  /** Drains in-flight requests, then stops. */
  stop(): Promise<void>;
}

export const gatewayRegionHeader = 'x-geofed-gateway-region';

export async function startGateway({
  config,
  env = process.env,
  host = '127.0.0.1',
  port = config.gateway.port,
  directory,
  forwardSubgraphSessions = false,
  reloadConfig = () => config,
  watch = false,
  compose,
}: GatewayOptions): Promise<RunningGateway> {
  const region = config.gateway.region;
  const supergraphSdl = readSupergraph(config.supergraphPath);
  const scopeOf = scopeLookup(config);
  // Rebuilt from the core supergraph (with its join and cost directives) on every schema load.
  let ownership: FieldOwnership = fieldOwnershipOf(supergraphSdl);
  let costModel: CostModel = buildCostModel(supergraphSdl, { ...costOptions(config), siteOf: costSites(ownership, scopeOf) });
  let piiFields = taggedFields(supergraphSdl, 'pii');
  const metrics = new GatewayMetrics();
  const production = env.NODE_ENV === 'production';
  const verifier = tokenVerifier(config.auth, env);
  const secrets = subgraphSecrets(env);
  const http = subgraphFetcher({ timeoutMs: config.gateway.subgraphTimeoutMs });
  const fetcher = signingFetcher(http.fetcher, secrets.current);
  const subgraphs = new Map(config.subgraphs.map((subgraph) => [subgraph.name, subgraph]));
  // A reload may change URLs or add subgraphs: Apollo builds the data sources again from this map.
  const source = new SupergraphSource(supergraphSdl, reloadConfig, (next) => {
    subgraphs.clear();
    for (const subgraph of next.subgraphs) subgraphs.set(subgraph.name, subgraph);
  }, compose);

  const gateway = new ApolloGateway({
    supergraphSdl: source,
    buildService: ({ name }) => {
      const subgraph = subgraphs.get(name);
      if (!subgraph) throw new ConfigError(`the supergraph has a subgraph "${name}" that ${config.file} does not declare`);
      return new RegionalDataSource({ subgraph, gatewayRegion: region, fetcher, metrics, circuitBreaker: config.circuitBreaker });
    },
  });
  gateway.onSchemaLoadOrUpdate(({ coreSupergraphSdl }) => {
    ownership = fieldOwnershipOf(coreSupergraphSdl);
    costModel = buildCostModel(coreSupergraphSdl, { ...costOptions(config), siteOf: costSites(ownership, scopeOf) });
    piiFields = taggedFields(coreSupergraphSdl, 'pii');
  });
  const store = config.rateLimits.enabled ? bucketStoreFromEnv(env, config.rateLimits.storeTimeoutMs) : undefined;
  const persisted = persistedQueries({ ...config.persistedQueries, env });
  const server = new ApolloServer<GatewayContext>({
    gateway,
    persistedQueries: persisted.persistedQueries,
    plugins: [
      // First: a safelist refusal rewrites the response before the cache and status plugins look at it.
      ...persisted.plugins,
      jurisdictionPlugin({ ownership: () => ownership, scopeOf }),
      costPlugin({ model: () => costModel, maxOperationCost: config.cost.maxOperationCost }),
      ...(store
        ? [rateLimitPlugin({ model: () => costModel, settings: config.rateLimits, maxOperationCost: config.cost.maxOperationCost, gatewayRegion: region, store, metrics })]
        : []),
      readYourWritesPlugin<GatewayContext>((context) => context.consistency.written),
      // Hints are gathered but Cache-Control is written by cdnCachePlugin alone.
      ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
      cdnCachePlugin({ maxAge: config.cache.maxAge, isGlobal: () => globalFields(ownership, scopeOf), piiFields: () => piiFields }),
      ...(forwardSubgraphSessions ? [subgraphSessionsPlugin()] : []),
      httpStatusPlugin(),
    ],
    ...operationLimits(config.limits),
    includeStacktraceInErrorResponses: false,
    introspection: config.gateway.introspection,
    // No "Did you mean …" in production: suggestions leak the schema to a prober.
    hideSchemaDetailsFromClientErrors: production,
    // Shutdown is ours: the process drains HTTP first, then stops Apollo (see gateway/process.ts).
    stopOnTerminationSignals: false,
    formatError: maskInternals,
  });
  await server.start();

  const resolveCaller = callerResolver({
    directory:
      directory ??
      catalogTenantDirectory({ catalogUrl: findSubgraph(config, 'catalog').urls[region]!, ttlMs: config.gateway.tenantCacheTtlMs, secret: secrets.current }),
    verifier,
    regions: config.regions,
  });
  const contexts = new WeakMap<IncomingMessage, GatewayContext>();
  const graphql = apolloRoute(server, {
    maxBodyBytes: config.gateway.maxBodyBytes,
    context: async (req) => {
      const requested = parseConsistencyToken(req.headers[consistencyHeader]);
      const context: GatewayContext = {
        caller: await resolveCaller(req.headers.authorization),
        clientKey: clientKeyOf(req, config.rateLimits.anonymous.clientKey),
        dataRegions: new Set(),
        consistency: requested === undefined ? {} : { requested },
        ...(forwardSubgraphSessions ? { subgraphSessions: [] } : {}),
      };
      contexts.set(req, context);
      return context;
    },
  });
  const ready = readinessProbe(config.subgraphs.map((s) => ({ name: s.name, url: s.urls[region]! })), secrets.current);

  const listener = await startHttpServer({
    host,
    port,
    onResponse: (res) => res.setHeader(gatewayRegionHeader, region),
    routes: {
      '/graphql': async (req, res, url) => {
        if (applyCors(req, res, config.cache.allowedOrigins)) return;
        const started = process.hrtime.bigint();
        await graphql(req, res, url);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        metrics.recordRequest(res.statusCode, contexts.get(req)?.caller?.region ?? 'anonymous', seconds);
      },
      '/healthz': async (_req, res) => writeJson(res, 200, { status: 'ok' }),
      '/readyz': async (_req, res) => {
        const report = await ready();
        writeJson(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', region, subgraphs: report.subgraphs, supergraph: source.current() });
      },
      '/metrics': async (_req, res) => {
        const body = await metrics.registry.metrics();
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(body);
      },
    },
  });
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
      await store?.close();
    },
  };
}

function costOptions(config: GeofedConfig) {
  return { defaultListSize: config.cost.defaultListSize, mutationCost: config.cost.mutationCost };
}

/** Who an anonymous caller is: its address, or the first hop of X-Forwarded-For behind a trusted proxy. */
function clientKeyOf(req: IncomingMessage, source: 'address' | 'x-forwarded-for'): string {
  const forwarded = req.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  return source === 'x-forwarded-for' && first ? first : (req.socket.remoteAddress ?? 'unknown');
}

function readSupergraph(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the supergraph ${path}: ${(error as Error).message} (run \`npm run compose\`)`);
  }
}

/** No error leaks a stack, SQL, or a subgraph URL: internal errors are logged and answered generically. */
function maskInternals(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const { response: _response, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
  if (extensions.code === 'INTERNAL_SERVER_ERROR') {
    logger.error({ err: error }, 'internal error');
    return { ...formatted, message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  }
  return { ...formatted, extensions };
}
