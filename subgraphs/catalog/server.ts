import { fileURLToPath } from 'node:url';
import type { SignedCaller } from '../../protocol/signed-context.js';
import type { ReplicaSettings } from '../settings.js';
import type { Database, DatabaseHandle } from '../shared/db.js';
import type { SubgraphDefinition } from '../shared/subgraph-server.js';
import { healthReportPlugin } from './health-report.js';
import { catalogLoaders } from './loaders.js';
import { ReadRouter } from './read-router.js';
import { catalogConsistencyPlugin } from './read-your-writes.js';
import { catalogResolvers, type CatalogContext } from './resolvers.js';
import { seedCatalog } from './seed.js';

export const catalogMigrations = fileURLToPath(new URL('./db/migrations', import.meta.url));

export interface CatalogOptions {
  readonly region: string;
  readonly schemaPath: string;
  /** Every write goes here. */
  readonly primary: DatabaseHandle;
  /** The region's read replica; reads use the primary without one. */
  readonly replica?: DatabaseHandle;
  readonly replicaSettings: ReplicaSettings;
}

export function buildCatalog({ region, schemaPath, primary, replica, replicaSettings }: CatalogOptions): SubgraphDefinition<CatalogContext> {
  const router = new ReadRouter({ region, primary, ...(replica ? { replica } : {}), settings: replicaSettings });
  router.start();
  return {
    name: 'catalog',
    region,
    scope: 'global',
    schemaPath,
    resolvers: catalogResolvers,
    requestScope: (caller, work) => router.read(caller.consistency, work),
    context: (caller: SignedCaller, db: Database) => ({ caller, db, primary: primary.db, loaders: catalogLoaders(db), written: {} }),
    plugins: [catalogConsistencyPlugin(), healthReportPlugin(() => router.replicaHealth())],
    metrics: router.metrics,
    onStop: () => router.stop(),
  };
}

/** Migrates and seeds the catalog database (on the primary): the first start of a fresh database gets the seed data. */
export async function prepareCatalogDatabase(handle: DatabaseHandle): Promise<void> {
  await handle.migrate(catalogMigrations, 'catalog');
  await seedCatalog(handle.db);
}
