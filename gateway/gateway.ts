import { readFileSync } from 'node:fs';
import type { ApolloServerPlugin } from '@apollo/server';
import { keptMemoryBucketStore } from '../plugins/rate-limit/memory-store.js';
import { clientHeaders } from '../protocol/headers.js';
import { postSignedGraphQL } from '../protocol/signed-client.js';
import { startHttpServer, type RunningHttpServer } from '../runtime/http-server.js';
import { logger } from '../runtime/logger.js';
import { memoryNonceStore } from '../runtime/nonce-store.js';
import { withClientSignals } from './client-signal.js';
import { composeSupergraph, type CompositionResult } from './compose.js';
import { ConfigError, type GeofedConfig } from './config.js';
import { ConfigReloader, ReloadRefused, type Composer, type ReloadResult, type SupergraphStatus } from './config-reload.js';
import { gatewayEnv, type GatewayEnv } from './env.js';
import { withLandingPage } from './landing-page.js';
import { memoryGauges } from './memory-metrics.js';
import { GatewayMetrics } from './metrics.js';
import { upstashNonceStore } from './nonce-store.js';
import { operatorRoutes, type GatewayPhase } from './operator-routes.js';
import { buildPipeline, type Pipeline } from './pipeline.js';
import { gatewayProbes } from './probes/gateway-probes.js';
import type { SubgraphResponseObserver } from './regional-data-source.js';
import type { GatewayContext } from './request-context.js';
import { rolloutRoute } from './rollout-admin.js';
import { servingRoute } from './routes.js';
import { RolloutRuntime } from './rollout-runtime.js';
import { rolloutStatus } from './rollout-status.js';
import { memoryRolloutStore } from './rollout-store.js';
import { upstashRolloutStore } from './rollout-upstash-store.js';
import { probeSubgraphs, type HealthTarget } from './subgraph-health.js';
import { regionGateways } from './status-page-report.js';
import { startGatewayEvents } from './tenant-invalidation.js';
import type { TenantDirectory } from './tenant-directory.js';
import { composeVariants, variantsOf } from './variants.js';
import { instanceName, labelsOf, versionOf } from './versions.js';

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
  /** Reload when supergraph.yaml, a subgraph SDL file, the supergraph file or the persisted-query manifest changes. @default false */
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
  /** Base URL of the operator's endpoints when `gateway.admin_port` is set; else they share `url`. */
  readonly adminUrl: string | undefined;
  readonly metrics: GatewayMetrics;
  /** Reads the config again, recomposes, and swaps in a new pipeline if both hold (also on SIGHUP in `npm run gateway`). */
  reload(): Promise<ReloadResult>;
  supergraph(): SupergraphStatus;
  /** `gateway.drain_timeout_ms` of the config being served. */
  readonly drainTimeoutMs: number;
  /** Drains in-flight requests (up to `drainTimeoutMs`), then stops. */
  stop(): Promise<void>;
}

/** How long to wait before asking a subgraph to introspect again, at start, when it cannot be reached. */
const introspectionRetryMs = { first: 500, max: 5_000 };

/**
 * The gateway's composition root: its listeners, the state kept across
 * reloads (metrics, hop nonces) and the serving pipeline (pipeline.ts), which
 * every reload builds again (config-reload.ts). It listens before the first
 * supergraph is loaded: until then /graphql and readiness answer 503, so an
 * orchestrator waits for a subgraph to introspect instead of restarting the
 * gateway (routes.ts, servingRoute). Requests then follow the README's "How
 * a request is served": routes.ts → request-context.ts → home-forwarding.ts
 * → plugin-chain.ts → Apollo's plan → regional-data-source.ts →
 * protocol/signed-context.ts → subgraphs/shared/subgraph-server.ts →
 * resolvers, and back through the response plugins.
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
  const secret = env.subgraphSecrets.current;
  const metrics = new GatewayMetrics();
  // Hop nonces are the region's: every gateway of a region refuses a hop another one accepted, across reloads too.
  const nonceEndpoint = env.regionalUpstash[region] ?? env.upstash;
  const nonces = nonceEndpoint ? upstashNonceStore({ ...nonceEndpoint, keyPrefix: 'geofed:hop:', timeoutMs: config.rateLimits.storeTimeoutMs }) : memoryNonceStore(config.memory.hopNonces);
  // Kept across reloads: a reload must not hand every tenant a full budget.
  const memoryBuckets = keptMemoryBucketStore();
  const introspect = async (url: string) => {
    const answer = await postSignedGraphQL<{ _service: { sdl: string } }>(url, { query: '{ _service { sdl } }' }, { secret, timeoutMs: config.gateway.subgraphTimeoutMs });
    const sdl = answer.body.data?._service.sdl;
    if (sdl === undefined) throw new Error(`HTTP ${answer.status}: no _service.sdl in the answer`);
    return sdl;
  };
  // The live rollout state, kept across reloads: shared by every gateway through the shared Upstash Redis, else this process's.
  const rolloutStore = env.upstash ? upstashRolloutStore({ ...env.upstash, keyPrefix: config.rollout.keyPrefix, timeoutMs: config.rollout.storeTimeoutMs }) : memoryRolloutStore();
  const rollouts = new RolloutRuntime({ store: rolloutStore, current: () => serving()?.config, reload: async () => reloader?.reload(), registry: metrics.registry });
  // A reload composes the subgraphs' SDL again, also when the gateway started from the composed file (`supergraph:`).
  const composer: Composer = compose ?? ((next) => composeSupergraph(next, { introspect }));
  const build = async (next: GeofedConfig, supergraphSdl: string) => {
    // Every variant of the subgraphs' versions (docs/rollouts.md) is composed too: a pipeline serves them all.
    const composed = await composeVariants(next, variantsOf(next), composer, supergraphSdl);
    if (!composed.ok) throw new ReloadRefused(composed.stage === 'sources' ? 'schema_source' : 'composition', composed.errors);
    return buildPipeline({ config: next, supergraphSdl, supergraphs: composed.supergraphs, rollouts, env, metrics, nonces, memoryBuckets, plugins, ...(directory ? { directory } : {}), ...(observeSubgraphResponse ? { observeSubgraphResponse } : {}) });
  };

  let phase: GatewayPhase = 'starting';
  let reloader: ConfigReloader | undefined;
  const serving = (): Pipeline | undefined => reloader?.current();
  const checkSubgraphs = async () => {
    const health = await probeSubgraphs(healthTargets(serving()?.config ?? config), secret);
    metrics.observeProbes(health);
    return { health, breakers: serving()?.breakerStates() ?? {} };
  };
  memoryGauges(metrics.registry, () => serving()?.memory);
  metrics.observeBreakers(() => serving()?.breakerStates() ?? {});
  const served = () => serving()?.config ?? config;
  const probes = gatewayProbes({ config: served, env, registry: metrics.registry });
  const operator = {
    ...operatorRoutes({
      region,
      metrics,
      phase: () => phase,
      supergraph: () => reloader?.status(),
      subgraphs: checkSubgraphs,
      gateways: () => regionGateways(served()),
      rollouts: async () => (await rolloutStatus(rollouts, served())).entries,
      probes: () => probes.latest(),
    }),
    '/rollout': rolloutRoute({ runtime: rollouts, config: () => serving()?.config, secrets: [env.adminSecret], windowSeconds: config.routing.hopWindowSeconds, nonces }),
  };
  const graphql = servingRoute({ region, serving, metrics });
  const adminPort = config.gateway.adminPort;
  const publicRoutes = withLandingPage(adminPort === undefined ? { ...operator, '/graphql': graphql } : { '/graphql': graphql }, { enabled: config.gateway.landingPage ?? !env.production });
  const onResponse = (res: Parameters<NonNullable<Parameters<typeof startHttpServer>[0]['onResponse']>>[0]) => res.setHeader(clientHeaders.gatewayRegion, region);
  const listener = await startHttpServer({ host, port, routes: withClientSignals(publicRoutes), onResponse });
  let admin: RunningHttpServer | undefined;
  try {
    admin = adminPort === undefined ? undefined : await startHttpServer({ host, port: adminPort, routes: operator, onResponse });
    logger.info({ url: listener.url, admin: admin?.url, region }, 'gateway listening; loading the supergraph');
    const supergraphSdl = config.supergraphPath !== undefined ? readSupergraph(config.supergraphPath) : await composeAtStart(config, composer);
    // A restarted gateway serves the versions the live state says, not the ones the file started with.
    await rollouts.refresh();
    const first = await build(rollouts.deployed(config), supergraphSdl).catch((error: unknown) => {
      throw error instanceof ReloadRefused ? new ConfigError(`${config.file}: a variant of the subgraphs' versions cannot be composed:\n${error.errors.map((e) => `  - ${e}`).join('\n')}`) : error;
    });
    reloader = new ConfigReloader({ loadConfig: () => rollouts.deployed(reloadConfig()), compose: composer, build }, first);
  } catch (error) {
    await listener.stop(0);
    await admin?.stop(0);
    await nonces.close();
    await rolloutStore.close();
    throw error;
  }
  // Catalog events (docs/events.md) drop a changed or suspended tenant's cached entry at once, instead of at its TTL.
  const events = await startGatewayEvents({ settings: env.events, region, registry: metrics.registry, directory: () => serving()?.memory.tenants });
  phase = 'ready';
  rollouts.start();
  probes.start();
  logger.info({ url: listener.url, region, version: reloader.status().version, config_version: reloader.status().configVersion }, 'gateway ready');
  const healthChecks = setInterval(() => void checkSubgraphs(), config.gateway.healthCheckIntervalMs);
  healthChecks.unref();
  if (watch) reloader.watch();
  const running = reloader;
  return {
    url: listener.url,
    adminUrl: admin?.url,
    metrics,
    reload: () => running.reload(),
    supergraph: () => running.status(),
    get drainTimeoutMs() {
      return running.current().config.gateway.drainTimeoutMs;
    },
    async stop() {
      phase = 'draining';
      clearInterval(healthChecks);
      running.stop();
      await probes.stop();
      const drainMs = running.current().config.gateway.drainTimeoutMs;
      await listener.stop(drainMs);
      await running.current().retire(drainMs);
      await events.stop();
      await rollouts.stop();
      await admin?.stop(0);
      await nonces.close();
    },
  };
}

/** Every subgraph instance the gateway may call: each version of each subgraph in each region of the config (`users`, `users@v2`). */
function healthTargets(config: GeofedConfig): HealthTarget[] {
  return config.subgraphs.flatMap((subgraph) =>
    labelsOf(subgraph).flatMap((label) => Object.entries(versionOf(subgraph, label)!.urls).map(([region, url]) => ({ subgraph: instanceName(subgraph, label), region, url }))),
  );
}

/**
 * The first supergraph. A subgraph that cannot be reached to introspect is
 * waited for (the gateway answers 503 meanwhile); SDL that does not compose,
 * or a file that cannot be read, is a mistake to fix: the gateway does not start.
 */
async function composeAtStart(config: GeofedConfig, compose: Composer): Promise<string> {
  const introspected = config.subgraphs.some((s) => s.schema.file === undefined);
  for (let waitMs = introspectionRetryMs.first; ; waitMs = Math.min(waitMs * 2, introspectionRetryMs.max)) {
    const result = await compose(config);
    if (result.ok) return result.supergraphSdl;
    if (result.stage !== 'sources' || !introspected) throw new ConfigError(`${config.file}: the subgraphs do not compose:\n${result.errors.map((e) => `  - ${e}`).join('\n')}`);
    logger.warn({ errors: result.errors, retry_in_ms: waitMs }, 'a subgraph to introspect cannot be reached yet: waiting for it (the gateway answers 503 until its supergraph is loaded)');
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  }
}

function readSupergraph(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the supergraph ${path}: ${(error as Error).message} (run \`npx geofed compose\`)`);
  }
}
