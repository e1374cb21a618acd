import { openDatabase, subgraphKinds, type DatabaseHandle, type DatabasePool, type DatabaseTarget, type SubgraphName } from '../subgraphs/index.js';
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
  readonly layout: DatabaseLayout;
  readonly regions: readonly string[];
  readonly subgraphs: readonly SubgraphName[];
  readonly onQuery?: (database: string, sql: string) => void;
  /** Each PostgreSQL handle's pool: the same setting a subgraph instance reads. */
  readonly pool: DatabasePool;
  /** PostgreSQL connections of a region go through its links: to its own database, and to the primary in `primaryRegion`. */
  readonly topology?: { readonly links: Topology; readonly primaryRegion: string };
}

/**
 * Opens the databases of a one-process deployment, all at once, and
 * migrates and seeds them: one database per region (users and orders share
 * it, one after the other) and the catalog's.
 */
export async function openStackDatabases({ layout, regions, subgraphs, onQuery, pool, topology }: StackDatabaseOptions): Promise<StackDatabases> {
  const handles = new Map<string, DatabaseHandle>();
  const perRegionPrimary = new Map<string, DatabaseHandle>();
  const open = async (name: string, target: DatabaseTarget, from?: string, to?: string) => {
    const routed = topology && target.driver === 'postgres' && from && to ? { ...target, url: await topology.links.via(from, to, target.url) } : target;
    return openDatabase(routed, { pool, ...(onQuery ? { onQuery: (sql: string) => onQuery(name, sql) } : {}) });
  };
  const close = async () => {
    await Promise.allSettled([...handles.values(), ...perRegionPrimary.values()].map((handle) => handle.close()));
  };
  try {
    const primaryRegion = topology?.primaryRegion ?? regions[0]!;
    await Promise.all([
      open('catalog', layout.catalog, primaryRegion, primaryRegion).then((h) => handles.set('catalog', h)),
      ...Object.entries(layout.catalogReplicas).map(([region, target]) => open(`catalog-replica-${region}`, target, region, region).then((h) => handles.set(`catalog-replica-${region}`, h))),
      ...regions.map((region) => open(region, layout.regions[region]!, region, region).then((h) => handles.set(region, h))),
      ...(topology && layout.catalog.driver === 'postgres'
        ? regions.filter((r) => r !== primaryRegion).map((region) => open('catalog', layout.catalog, region, primaryRegion).then((h) => perRegionPrimary.set(region, h)))
        : []),
    ]);
    const regional = subgraphs.filter((name) => subgraphKinds[name].database === 'regional');
    await Promise.all([
      subgraphs.includes('catalog') ? subgraphKinds.catalog.prepare(handles.get('catalog')!, primaryRegion) : Promise.resolve(),
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
