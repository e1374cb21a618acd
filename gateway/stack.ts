import type { GeofedConfig } from './config.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { subgraphKinds } from '../subgraphs/registry.js';
import { openDatabase, type DatabaseHandle } from '../subgraphs/shared/db.js';
import type { DatabasePlan } from '../subgraphs/shared/database-plan.js';
import { startSubgraph, type RunningSubgraph } from '../subgraphs/shared/subgraph-server.js';

export interface StackOptions {
  readonly config: GeofedConfig;
  readonly databases: DatabasePlan;
  /** `config`: every server listens on the port of its URL in the config; `ephemeral`: free ports (tests). */
  readonly ports: 'config' | 'ephemeral';
  readonly env?: NodeJS.ProcessEnv;
  /** Sees every SQL statement, with the database it went to (`catalog` or a region). */
  readonly onQuery?: (database: string, sql: string) => void;
}

export interface RunningStack {
  readonly gateway: RunningGateway;
  /** The config as served: URLs are the ones actually bound. */
  readonly config: GeofedConfig;
  readonly subgraphs: readonly RunningSubgraph[];
  /** `catalog` and one per region. */
  readonly databases: ReadonlyMap<string, DatabaseHandle>;
  subgraph(name: string, region: string): RunningSubgraph;
  stop(): Promise<void>;
}

/**
 * Everything in one process, as `npm start` runs it: the databases (migrated
 * and seeded), every subgraph in every region, and the gateway. A PGlite
 * database belongs to the process that opened it, so users and orders of a
 * region share that region's database here.
 */
export async function startStack({ config, databases: plan, ports, env = process.env, onQuery }: StackOptions): Promise<RunningStack> {
  const databases = new Map<string, DatabaseHandle>();
  const subgraphs: RunningSubgraph[] = [];
  const stopAll = async () => {
    await Promise.allSettled(subgraphs.map((subgraph) => subgraph.stop()));
    await Promise.allSettled([...databases.values()].map((handle) => handle.close()));
  };
  try {
    const targets = [['catalog', plan.catalog] as const, ...config.regions.map((region) => [region, plan.regions[region]!] as const)];
    for (const [name, target] of targets) {
      databases.set(name, await openDatabase(target, onQuery ? { onQuery: (sql) => onQuery(name, sql) } : {}));
    }
    const ordered = [...config.subgraphs].sort((a, b) => Number(subgraphKinds[b.name]?.database === 'catalog') - Number(subgraphKinds[a.name]?.database === 'catalog'));
    const prepared = new Set<string>();
    const urls = new Map<string, Record<string, string>>();
    for (const subgraph of ordered) {
      const kind = subgraphKinds[subgraph.name];
      if (!kind) throw new Error(`${config.file}: geofed has no subgraph "${subgraph.name}" to start (it ships ${Object.keys(subgraphKinds).join(', ')})`);
      const bound: Record<string, string> = {};
      for (const region of config.regions) {
        const handle = databases.get(kind.database === 'catalog' ? 'catalog' : region)!;
        const preparedKey = `${subgraph.name}:${kind.database === 'catalog' ? 'catalog' : region}`;
        if (!prepared.has(preparedKey)) {
          await kind.prepare(handle, region);
          prepared.add(preparedKey);
        }
        const definition = kind.build({ region, schemaPath: subgraph.schemaPath, db: handle.db, catalogUrl: urls.get('catalog')?.[region] ?? subgraph.urls[region]! });
        const running = await startSubgraph(definition, { port: ports === 'config' ? portOf(subgraph.urls[region]!) : 0 });
        subgraphs.push(running);
        bound[region] = running.url;
      }
      urls.set(subgraph.name, bound);
    }
    const served: GeofedConfig = { ...config, subgraphs: config.subgraphs.map((s) => ({ ...s, urls: urls.get(s.name)! })) };
    const gateway = await startGateway({ config: served, env, ...(ports === 'ephemeral' ? { port: 0 } : {}) });
    return {
      gateway,
      config: served,
      subgraphs,
      databases,
      subgraph(name, region) {
        const found = subgraphs.find((s) => s.name === name && s.region === region);
        if (!found) throw new Error(`no ${name} subgraph in ${region}`);
        return found;
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
