import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { GeofedConfig } from '../gateway/config.js';
import { loadSubgraphs, openDatabase, subgraphNames, subgraphSettings, type DatabaseHandle, type DatabaseTarget, type SubgraphName } from '../subgraphs/index.js';
import type { DatabaseLayout } from './database-layout.js';
import type { Topology } from './topology.js';

export interface StackDatabases {
  /** `catalog` (the primary), `catalog-replica-<region>` and one per region. */
  readonly handles: ReadonlyMap<string, DatabaseHandle>;
  /** The catalog primary as each region's catalog instance reaches it (through its link, with a topology). */
  primaryFor(region: string): DatabaseHandle;
  close(): Promise<void>;
}

export interface StackDatabaseOptions {
  readonly config: GeofedConfig;
  readonly layout: DatabaseLayout;
  /** The variables a subgraph instance reads: each PostgreSQL handle's pool is the one an instance would have. */
  readonly env: NodeJS.ProcessEnv;
  readonly onQuery?: (database: string, sql: string) => void;
  /** PostgreSQL connections of a region go through its links: to its own database, and to the primary in `primaryRegion`. */
  readonly topology?: { readonly links: Topology; readonly primaryRegion: string };
  /** Each step as it begins: what is created, opened or connected to, then migrated and seeded. */
  readonly onProgress?: (step: string) => void;
}

/** The subgraphs of the config, each one geofed ships. */
export function stackSubgraphNames(config: GeofedConfig): SubgraphName[] {
  const unknown = config.subgraphs.find((s) => !(subgraphNames as readonly string[]).includes(s.name));
  if (unknown) throw new Error(`${config.file}: geofed has no subgraph "${unknown.name}" to start (it ships ${subgraphNames.join(', ')})`);
  return config.subgraphs.map((s) => s.name as SubgraphName);
}

/**
 * Opens the databases of a one-process deployment, all at once, then
 * migrates and seeds them, all at once: one database per region and the
 * catalog's. Users and orders share their region's database and take their
 * turns in it: PGlite runs one statement at a time, and on PostgreSQL each
 * migration holds the database's migration lock, so running them side by
 * side would gain nothing (and their shared role migration would race in
 * PGlite, which has no lock).
 */
export async function openStackDatabases({ config, layout, env, onQuery, topology, onProgress }: StackDatabaseOptions): Promise<StackDatabases> {
  const { regions } = config;
  const subgraphs = stackSubgraphNames(config);
  const pool = subgraphSettings('catalog', regions[0]!, { ...env, PORT: '0' }).pool;
  const handles = new Map<string, DatabaseHandle>();
  const perRegionPrimary = new Map<string, DatabaseHandle>();
  const open = async (name: string, target: DatabaseTarget, from: string, to: string) => {
    const routed = topology && target.driver === 'postgres' ? { ...target, url: await topology.links.via(from, to, target.url) } : target;
    return openDatabase(routed, { pool, ...(onQuery ? { onQuery: (sql: string) => onQuery(name, sql) } : {}) });
  };
  const close = async () => {
    await Promise.allSettled([...handles.values(), ...perRegionPrimary.values()].map((handle) => handle.close()));
  };
  const primaryRegion = topology?.primaryRegion ?? regions[0]!;
  // Each database by its handle's name, with the region its users reach it from.
  const targets = new Map<string, { readonly target: DatabaseTarget; readonly region: string }>([
    ['catalog', { target: layout.catalog, region: primaryRegion }],
    ...Object.entries(layout.catalogReplicas).map(([region, target]) => [`catalog-replica-${region}`, { target, region }] as const),
    ...regions.map((region) => [region, { target: layout.regions[region]!, region }] as const),
  ]);
  onProgress?.(`${openingStep(targets)}…`);
  // The subgraphs' migrations and seeds load while the databases open.
  const code = loadSubgraphs();
  try {
    const opened = await Promise.allSettled([
      ...[...targets].map(([name, { target, region }]) => open(name, target, region, region).then((h) => handles.set(name, h))),
      ...(topology && layout.catalog.driver === 'postgres'
        ? regions.filter((r) => r !== primaryRegion).map((region) => open('catalog', layout.catalog, region, primaryRegion).then((h) => perRegionPrimary.set(region, h)))
        : []),
      code,
    ]);
    // Every open is settled before a failure is thrown, so that close() closes every database that did open.
    const failed = opened.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    const { subgraphKinds } = await code;
    const regional = subgraphs.filter((name) => subgraphKinds[name].database === 'regional');
    const withCatalog = subgraphs.includes('catalog');
    onProgress?.(`migrating and seeding ${[...(withCatalog ? ['catalog'] : []), ...(regional.length > 0 ? [`${regional.join(' and ')} (${regions.join(', ')})`] : [])].join(', ')}…`);
    await Promise.all([
      withCatalog ? subgraphKinds.catalog.prepare(handles.get('catalog')!, primaryRegion) : Promise.resolve(),
      ...regions.map(async (region) => {
        for (const name of regional) await subgraphKinds[name].prepare(handles.get(region)!, region);
      }),
    ]);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    handles,
    primaryFor: (region) => perRegionPrimary.get(region) ?? handles.get('catalog')!,
    close,
  };
}

/** "creating PGlite databases (catalog, us)", "opening PGlite databases (eu)", "connecting to PostgreSQL (apac)", as the targets are. */
function openingStep(targets: ReadonlyMap<string, { readonly target: DatabaseTarget }>): string {
  const steps = new Map<string, string[]>();
  for (const [name, { target }] of targets) {
    const step =
      target.driver === 'postgres'
        ? 'connecting to PostgreSQL'
        : target.dataDir === undefined
          ? 'creating PGlite databases in memory'
          : // A PostgreSQL data folder holds PG_VERSION once its cluster is initialised.
            existsSync(join(target.dataDir, 'PG_VERSION'))
            ? 'opening PGlite databases'
            : 'creating PGlite databases';
    steps.set(step, [...(steps.get(step) ?? []), name]);
  }
  return [...steps].map(([step, names]) => `${step} (${names.join(', ')})`).join('; ');
}
