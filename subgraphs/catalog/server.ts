import { fileURLToPath } from 'node:url';
import type { SubgraphCaller } from '../shared/caller.js';
import type { Database, DatabaseHandle } from '../shared/db.js';
import type { SubgraphDefinition } from '../shared/subgraph-server.js';
import { catalogLoaders } from './loaders.js';
import { catalogResolvers, type CatalogContext } from './resolvers.js';
import { seedCatalog } from './seed.js';

export const catalogMigrations = fileURLToPath(new URL('./db/migrations', import.meta.url));

export interface CatalogOptions {
  readonly region: string;
  readonly schemaPath: string;
  readonly db: Database;
}

export function buildCatalog({ region, schemaPath, db }: CatalogOptions): SubgraphDefinition<CatalogContext> {
  return {
    name: 'catalog',
    region,
    schemaPath,
    resolvers: catalogResolvers,
    context: (caller: SubgraphCaller) => ({ caller, db, loaders: catalogLoaders(db) }),
  };
}

/** Migrates and seeds the catalog database: the first start of a fresh database gets the seed data. */
export async function prepareCatalogDatabase(handle: DatabaseHandle): Promise<void> {
  await handle.migrate(catalogMigrations, 'catalog');
  await seedCatalog(handle.db);
}
