import type { GeofedConfig } from '../gateway/config.js';
import { gatewayEnv } from '../gateway/env.js';
import { startGateway, type RunningGateway } from '../gateway/gateway.js';
import {
  openDatabase,
  startSubgraph,
  subgraphKinds,
  subgraphNames,
  subgraphSettings,
  type AnySubgraphDefinition,
  type DatabaseHandle,
  type RunningSubgraph,
  type SubgraphName,
  type SubgraphTestHooks,
  type UsersTestHooks,
} from '../subgraphs/index.js';
import type { DatabaseLayout } from './database-layout.js';
import { sessionReport } from './session-report.js';

export interface StackOptions {
  readonly config: GeofedConfig;
  readonly databases: DatabaseLayout;
  /** `config`: every server listens on the port of its URL in the config; `ephemeral`: free ports (tests). */
  readonly ports: 'config' | 'ephemeral';
  readonly env?: NodeJS.ProcessEnv;
  /** Sees every SQL statement, with the database it went to (`catalog` or a region). */
  readonly onQuery?: (database: string, sql: string) => void;
  /** Hot reload: the config as it is now, and whether to watch its files (see SupergraphSource). */
  readonly reload?: { readonly config: () => GeofedConfig; readonly watch: boolean };
  /** Fault-injection switches and reports: only tests pass them; no command line or variable can. */
  readonly testHooks?: SubgraphTestHooks & UsersTestHooks;
}

export interface RunningStack {
  readonly gateway: RunningGateway;
  /** The config as served: URLs are the ones actually bound. */
  readonly config: GeofedConfig;
  readonly subgraphs: readonly RunningSubgraph[];
  /** `catalog` (the primary), `catalog-replica-<region>` and one per region. */
  readonly databases: ReadonlyMap<string, DatabaseHandle>;
  subgraph(name: string, region: string): RunningSubgraph;
  /** Stops the regional subgraph servers of a region (an outage); `startRegion` brings them back on the same ports. */
  stopRegion(region: string): Promise<void>;
  startRegion(region: string): Promise<void>;
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
 * and seeded), every subgraph in every region, and the gateway. A PGlite
 * database belongs to the process that opened it, so users and orders of a
 * region share that region's database here.
 */
export async function startStack({ config, databases: layout, ports, env = process.env, onQuery, testHooks, reload }: StackOptions): Promise<RunningStack> {
  const databases = new Map<string, DatabaseHandle>();
  const instances: Instance[] = [];
  const start = async (instance: Instance) => {
    const { settings } = instance;
    instance.running = await startSubgraph(instance.definition, {
      port: instance.port,
      security: { secrets: settings.secrets.accepted, windowSeconds: settings.signatureWindowSeconds },
      production: settings.production,
      ...(testHooks ? { testHooks } : {}),
    });
    instance.port = new URL(instance.running.url).port === '' ? instance.port : Number(new URL(instance.running.url).port);
  };
  const stopAll = async () => {
    await Promise.allSettled(instances.map((instance) => instance.running?.stop()));
    await Promise.allSettled([...databases.values()].map((handle) => handle.close()));
  };
  try {
    const targets = [
      ['catalog', layout.catalog] as const,
      ...Object.entries(layout.catalogReplicas).map(([region, target]) => [`catalog-replica-${region}`, target] as const),
      ...config.regions.map((region) => [region, layout.regions[region]!] as const),
    ];
    for (const [name, target] of targets) {
      databases.set(name, await openDatabase(target, onQuery ? { onQuery: (sql) => onQuery(name, sql) } : {}));
    }
    // The catalog starts first: orders instances price new orders through the catalog of their region.
    const unknown = config.subgraphs.find((s) => !(subgraphNames as readonly string[]).includes(s.name));
    if (unknown) throw new Error(`${config.file}: geofed has no subgraph "${unknown.name}" to start (it ships ${subgraphNames.join(', ')})`);
    const ordered = [...config.subgraphs].sort((a, b) => Number(b.name === 'catalog') - Number(a.name === 'catalog'));
    const prepared = new Set<string>();
    const urls = new Map<string, Record<string, string>>();
    for (const subgraph of ordered) {
      const name = subgraph.name as SubgraphName;
      const kind = subgraphKinds[name];
      const bound: Record<string, string> = {};
      for (const region of config.regions) {
        const databaseName = kind.database === 'catalog' ? 'catalog' : region;
        const database = databases.get(databaseName)!;
        if (!prepared.has(`${subgraph.name}:${databaseName}`)) {
          await kind.prepare(database, region);
          prepared.add(`${subgraph.name}:${databaseName}`);
        }
        const port = ports === 'config' ? portOf(subgraph.urls[region]!) : 0;
        const catalogUrl = urls.get('catalog')?.[region] ?? subgraph.urls[region]!;
        // The same settings a standalone instance reads; the databases are the stack's own.
        const settings = subgraphSettings(name, region, { ...env, PORT: String(port), GEOFED_CATALOG_URL: catalogUrl });
        const definition = kind.build({
          region,
          schemaPath: subgraph.schema.file ?? settings.schemaPath,
          database,
          ...(kind.database === 'catalog' && databases.has(`catalog-replica-${region}`) ? { replica: databases.get(`catalog-replica-${region}`)! } : {}),
          replicaSettings: settings.replicas,
          catalogUrl,
          signingSecret: settings.secrets.current,
          ...(testHooks ? { testHooks } : {}),
        });
        const instance: Instance = { definition, settings, regional: kind.database === 'regional', port, running: undefined };
        instances.push(instance);
        await start(instance);
        bound[region] = instance.running!.url;
      }
      urls.set(subgraph.name, bound);
    }
    const served: GeofedConfig = { ...config, subgraphs: config.subgraphs.map((s) => ({ ...s, urls: urls.get(s.name)! })) };
    const report = testHooks?.reportSession ? sessionReport() : undefined;
    const gateway = await startGateway({
      config: served,
      env: gatewayEnv(env),
      ...(ports === 'ephemeral' ? { port: 0 } : {}),
      ...(report ? { plugins: [report.plugin], observeSubgraphResponse: report.observer } : {}),
      ...(reload ? { reloadConfig: reload.config, watch: reload.watch } : {}),
    });
    const inRegion = (region: string) => instances.filter((i) => i.regional && i.definition.region === region);
    return {
      gateway,
      config: served,
      get subgraphs() {
        return instances.flatMap((i) => (i.running ? [i.running] : []));
      },
      databases,
      subgraph(name, region) {
        const found = instances.find((i) => i.definition.name === name && i.definition.region === region)?.running;
        if (!found) throw new Error(`no running ${name} subgraph in ${region}`);
        return found;
      },
      async stopRegion(region) {
        for (const instance of inRegion(region)) {
          await instance.running?.stop();
          instance.running = undefined;
        }
      },
      async startRegion(region) {
        for (const instance of inRegion(region)) if (!instance.running) await start(instance);
      },
      async stop() {
        await gateway.stop();
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export function portOf(url: string): number {
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
}
