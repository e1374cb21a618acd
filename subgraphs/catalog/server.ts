import { fileURLToPath } from 'node:url';
import type { SignedCaller } from '../../gateway/signed-context.js';
import type { Database, DatabaseHandle } from '../shared/db.js';
import type { SubgraphDefinition } from '../shared/subgraph-server.js';
import { catalogLoaders } from './loaders.js';
import { catalogResolvers, type CatalogContext } from './resolvers.js';
import { seedCatalog } from './seed.js';

export const catalogMigrations = fileURLToPath(new URL('./db/migrations', import.meta.url));

export interface CatalogOptions {
  readonly region: string;
  readonly schemaPath: string;
  readonly database: DatabaseHandle;
}

export function buildCatalog({ region, schemaPath, database }: CatalogOptions): SubgraphDefinition<CatalogContext> {
  return {
    name: 'catalog',
    region,
    schemaPath,
    resolvers: catalogResolvers,
    scope: 'global',
    database,
    context: (caller: SignedCaller, db: Database) => ({ caller, db, loaders: catalogLoaders(db) }),
  };
}

/** Migrates and seeds the catalog database: the first start of a fresh database gets the seed data. */
export async function prepareCatalogDatabase(handle: DatabaseHandle): Promise<void> {
  await handle.migrate(catalogMigrations, 'catalog');
  await seedCatalog(handle.db);
}
