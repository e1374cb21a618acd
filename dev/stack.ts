import type { ApolloServerPlugin } from '@apollo/server';
import type { GeofedConfig } from '../gateway/config.js';
import type { GatewayContext } from '../gateway/request-context.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import {
  loadSubgraphs,
  subgraphSettings,
  type AnySubgraphDefinition,
  type DatabaseHandle,
  type RunningSubgraph,
  type SubgraphName,
  type SubgraphTestHooks,
  type UsersTestHooks,
} from '../subgraphs/index.js';
import type { DatabaseLayout } from './database-layout.js';
import { freePort, portOf } from './ports.js';
import { sessionReport } from './session-report.js';
import { openStackDatabases, type StackDatabases } from './stack-databases.js';
import { startStackEvents, type RunningStackEvents } from './stack-events.js';
import type { Topology } from './topology.js';

export interface StackOptions {
  readonly config: GeofedConfig;
  /** Where the databases live; or the stack's databases already on their way (`npm start` opens them while the gateway's modules load). */
  readonly databases: DatabaseLayout | Promise<StackDatabases>;
  /** `config`: every server listens on the port of its URL in the config; `ephemeral`: free ports (tests). */
  readonly ports: 'config' | 'ephemeral';
  /** `one`: the gateway of `gateway.region` serves every region; `per-region`: a gateway per region, as deployed. @default 'one' */
  readonly gateways?: 'one' | 'per-region';
  /** Distance: every cross-component connection goes through a delay link of its regions' round trip. */
  readonly topology?: { readonly links: Topology; readonly primaryRegion: string };
  readonly env?: NodeJS.ProcessEnv;
  /** Sees every SQL statement, with the database it went to (`catalog` or a region). */
  readonly onQuery?: (database: string, sql: string) => void;
  /** Hot reload: the config as it is now, and whether to watch its files (see SupergraphSource). */
  readonly reload?: { readonly config: () => GeofedConfig; readonly watch: boolean };
  /** Fault-injection switches and reports: only tests pass them; no command line or variable can. */
  readonly testHooks?: SubgraphTestHooks & UsersTestHooks;
  /** More plugins for the gateway of a region (a test's probe of what a gateway executed). */
  readonly gatewayPlugins?: (region: string) => readonly ApolloServerPlugin<GatewayContext>[];
  /** Each step of the start as it begins (what `npm start` prints while it starts). */
  readonly onProgress?: (step: string) => void;
  /** Runs every database's outbox relay and each region's webhooks (stack-events.ts); `npm start` does. @default false */
  readonly events?: boolean;
}

export interface RunningStack {
  /** The gateway of `gateway.region`. */
  readonly gateway: RunningGateway;
  /** Every gateway by region (one entry with `gateways: 'one'`). */
  readonly gateways: ReadonlyMap<string, RunningGateway>;
  /** The config as served by the gateway of `gateway.region`: URLs are the ones actually bound. */
  readonly config: GeofedConfig;
  readonly subgraphs: readonly RunningSubgraph[];
  /** `catalog` (the primary), `catalog-replica-<region>` and one per region. */
  readonly databases: ReadonlyMap<string, DatabaseHandle>;
  subgraph(name: string, region: string): RunningSubgraph;
  /** A URL of a region's gateway for a client in `clientRegion` (through their link with a topology). */
  clientUrl(clientRegion: string, gatewayRegion: string): Promise<string>;
  /** Stops the regional subgraph servers of a region (an outage); `startRegion` brings them back on the same ports. */
  stopRegion(region: string): Promise<void>;
  startRegion(region: string): Promise<void>;
  /** Stops one subgraph instance (the catalog of a region, say); `startSubgraphInstance` brings it back on its port. */
  stopSubgraphInstance(name: string, region: string): Promise<void>;
  startSubgraphInstance(name: string, region: string): Promise<void>;
  stop(): Promise<void>;
}

interface Instance {
  readonly definition: AnySubgraphDefinition;
  readonly settings: ReturnType<typeof subgraphSettings>;
  readonly regional: boolean;
  port: number;
  running: RunningSubgraph | undefined;
}

/**
 * Everything in one process, as `npm start` runs it: the databases (migrated
 * and seeded), every subgraph in every region, and one gateway or a gateway
 * per region. A PGlite database belongs to the process that opened it, so
 * users and orders of a region share that region's database here.
 */
export async function startStack(options: StackOptions): Promise<RunningStack> {
  const { config, ports, env = process.env, testHooks, topology, onProgress } = options;
  // The subgraphs' code loads while the databases open.
  const [opened, loaded] = await Promise.allSettled([
    options.databases instanceof Promise
      ? options.databases
      : openStackDatabases({ config, layout: options.databases, env, ...(options.onQuery ? { onQuery: options.onQuery } : {}), ...(topology ? { topology } : {}), ...(onProgress ? { onProgress } : {}) }),
    loadSubgraphs(),
  ]);
  if (opened.status === 'rejected') throw opened.reason;
  const databases = opened.value;
  if (loaded.status === 'rejected') {
    await databases.close();
    throw loaded.reason;
  }
  const { subgraphKinds, startSubgraph } = loaded.value;
  const instances: Instance[] = [];
  const gateways = new Map<string, RunningGateway>();
  const via = (from: string, to: string, url: string) => (topology ? topology.links.via(from, to, url) : Promise.resolve(url));
  const start = async (instance: Instance) => {
    const { settings } = instance;
    instance.running = await startSubgraph(instance.definition, {
      port: instance.port,
      security: { secrets: settings.secrets.accepted, windowSeconds: settings.signatureWindowSeconds },
      production: settings.production,
      ...(testHooks ? { testHooks } : {}),
    });
    instance.port = portOf(instance.running.url);
  };
  let events: RunningStackEvents | undefined;
  const stopAll = async () => {
    await Promise.allSettled([...gateways.values()].map((gateway) => gateway.stop()));
    await Promise.allSettled(instances.map((instance) => instance.running?.stop()));
    await events?.stop();
    await databases.close();
  };
  try {
    onProgress?.(`starting ${config.subgraphs.length * config.regions.length} subgraphs (${config.subgraphs.map((s) => s.name).join(', ')} in ${config.regions.join(', ')})…`);
    const bound = new Map<string, Record<string, string>>(config.subgraphs.map((s) => [s.name, {}]));
    const startInstance = async (subgraph: GeofedConfig['subgraphs'][number], region: string, catalogUrl: string) => {
      const name = subgraph.name as SubgraphName;
      const kind = subgraphKinds[name];
      const port = ports === 'config' ? portOf(subgraph.urls[region]!) : 0;
      // The same settings a standalone instance reads; the databases are the stack's own.
      const settings = subgraphSettings(name, region, { ...env, PORT: String(port), GEOFED_CATALOG_URL: catalogUrl });
      const replica = databases.handles.get(`catalog-replica-${region}`);
      const definition = kind.build({
        region,
        schemaPath: subgraph.schema.file ?? settings.schemaPath,
        database: kind.database === 'catalog' ? databases.primaryFor(region) : databases.handles.get(region)!,
        ...(kind.database === 'catalog' && replica ? { replica } : {}),
        replicaSettings: settings.replicas,
        catalogUrl,
        signingSecret: settings.secrets.current,
        ...(testHooks ? { testHooks } : {}),
      });
      const instance: Instance = { definition, settings, regional: kind.database === 'regional', port, running: undefined };
      instances.push(instance);
      await start(instance);
      bound.get(name)![region] = instance.running!.url;
      return instance.running!.url;
    };
    const catalog = config.subgraphs.find((s) => s.name === 'catalog');
    const catalogs = new Map(catalog ? config.regions.map((region) => [region, startInstance(catalog, region, catalog.urls[region]!)]) : []);
    // Orders instances price new orders through the catalog of their region, at request time: its URL is all they
    // need, known from the config, so every instance starts at once; on free ports, once that catalog listens.
    const catalogUrlFor = async (region: string, otherwise: string) => (catalog ? via(region, region, ports === 'config' ? catalog.urls[region]! : await catalogs.get(region)!) : otherwise);
    const starts = await Promise.allSettled([
      ...catalogs.values(),
      ...config.subgraphs.filter((s) => s !== catalog).flatMap((subgraph) => config.regions.map(async (region) => startInstance(subgraph, region, await catalogUrlFor(region, subgraph.urls[region]!)))),
    ]);
    // Every start is settled before a failure is thrown, so that stopping the stack stops every instance that did start.
    const failed = starts.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    if (options.events) events = await startStackEvents({ handles: databases.handles, regions: config.regions, env });
    const urls = new Map(config.subgraphs.map((s) => [s.name, Object.fromEntries(config.regions.map((region) => [region, bound.get(s.name)![region]!]))]));
    const gatewayRegions = options.gateways === 'per-region' ? config.regions : [config.gateway.region];
    const configuredPort = (region: string) => (region === config.gateway.region ? config.gateway.port : portOf(config.gateways[region]!.url));
    const gatewayPorts = new Map(await Promise.all(gatewayRegions.map(async (region) => [region, ports === 'config' ? configuredPort(region) : await freePort()] as const)));
    const gatewayUrl = (region: string) => `http://127.0.0.1:${gatewayPorts.get(region)}`;
    const servedBy = async (region: string): Promise<GeofedConfig> => ({
      ...config,
      gateway: { ...config.gateway, region, port: gatewayPorts.get(region)! },
      subgraphs: await Promise.all(config.subgraphs.map(async (s) => ({ ...s, urls: Object.fromEntries(await Promise.all(Object.entries(urls.get(s.name)!).map(async ([r, url]) => [r, await via(region, r, url)] as const))) }))),
      gateways: Object.fromEntries(
        await Promise.all(Object.entries(config.gateways).map(async ([r, entry]) => [r, { ...entry, url: gatewayPorts.has(r) ? await via(region, r, gatewayUrl(r)) : entry.url }] as const)),
      ),
    });
    const report = testHooks?.reportSession ? sessionReport() : undefined;
    const served = new Map<string, GeofedConfig>();
    onProgress?.(gatewayRegions.length === 1 ? 'starting the gateway…' : `starting ${gatewayRegions.length} gateways (${gatewayRegions.join(', ')})…`);
    await Promise.all(
      gatewayRegions.map(async (region) => {
        served.set(region, await servedBy(region));
        gateways.set(
          region,
          await startGateway({
            config: served.get(region)!,
            env: gatewayEnv(env),
            plugins: [...(report ? [report.plugin] : []), ...(options.gatewayPlugins?.(region) ?? [])],
            ...(report ? { observeSubgraphResponse: report.observer } : {}),
            ...(options.reload && region === config.gateway.region ? { reloadConfig: options.reload.config, watch: options.reload.watch } : {}),
          }),
        );
      }),
    );
    const instancesOf = (predicate: (instance: Instance) => boolean) => instances.filter(predicate);
    const stopInstances = async (chosen: Instance[]) => {
      for (const instance of chosen) {
        await instance.running?.stop();
        instance.running = undefined;
      }
    };
    const startInstances = async (chosen: Instance[]) => {
      for (const instance of chosen) if (!instance.running) await start(instance);
    };
    const one = (name: string, region: string) => instancesOf((i) => i.definition.name === name && i.definition.region === region);
    return {
      gateway: gateways.get(config.gateway.region)!,
      gateways,
      config: served.get(config.gateway.region)!,
      get subgraphs() {
        return instances.flatMap((i) => (i.running ? [i.running] : []));
      },
      databases: databases.handles,
      subgraph(name, region) {
        const found = one(name, region)[0]?.running;
        if (!found) throw new Error(`no running ${name} subgraph in ${region}`);
        return found;
      },
      clientUrl: (clientRegion, gatewayRegion) => via(clientRegion, gatewayRegion, gateways.get(gatewayRegion)!.url),
      stopRegion: (region) => stopInstances(instancesOf((i) => i.regional && i.definition.region === region)),
      startRegion: (region) => startInstances(instancesOf((i) => i.regional && i.definition.region === region)),
      stopSubgraphInstance: (name, region) => stopInstances(one(name, region)),
      startSubgraphInstance: (name, region) => startInstances(one(name, region)),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
