import { catalogPriceLookup } from './orders/catalog-prices.js';
import { buildCatalog, prepareCatalogDatabase } from './catalog/server.js';
import { buildOrders, prepareOrdersDatabase } from './orders/server.js';
import type { Database, DatabaseHandle } from './shared/db.js';
import type { AnySubgraphDefinition } from './shared/subgraph-server.js';
import { buildUsers, prepareUsersDatabase } from './users/server.js';

export interface SubgraphDependencies {
  readonly region: string;
  readonly schemaPath: string;
  readonly db: Database;
  /** The catalog instance of the same region. */
  readonly catalogUrl: string;
}

export interface SubgraphKind {
  /** `catalog`: the one global database; `regional`: the database of the instance's region. */
  readonly database: 'catalog' | 'regional';
  /** Applies this subgraph's migrations and seeds its part of the data (idempotent). */
  prepare(handle: DatabaseHandle, region: string): Promise<void>;
  build(dependencies: SubgraphDependencies): AnySubgraphDefinition;
}

/** Every subgraph geofed ships, by the name supergraph.yaml gives it. */
export const subgraphKinds: Readonly<Record<string, SubgraphKind>> = {
  catalog: {
    database: 'catalog',
    prepare: (handle) => prepareCatalogDatabase(handle),
    build: ({ region, schemaPath, db }) => buildCatalog({ region, schemaPath, db }),
  },
  users: {
    database: 'regional',
    prepare: prepareUsersDatabase,
    build: ({ region, schemaPath, db }) => buildUsers({ region, schemaPath, db }),
  },
  orders: {
    database: 'regional',
    prepare: prepareOrdersDatabase,
    build: ({ region, schemaPath, db, catalogUrl }) =>
      buildOrders({ region, schemaPath, db, prices: catalogPriceLookup(catalogUrl) }),
  },
};
