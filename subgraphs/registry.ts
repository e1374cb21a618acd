import { catalogPriceLookup } from './orders/catalog-prices.js';
import { buildCatalog, prepareCatalogDatabase } from './catalog/server.js';
import { buildOrders, prepareOrdersDatabase } from './orders/server.js';
import type { DatabaseHandle } from './shared/db.js';
import type { AnySubgraphDefinition } from './shared/subgraph-server.js';
import type { UsersTestHooks } from './users/loaders.js';
import { buildUsers, prepareUsersDatabase } from './users/server.js';
import type { ReplicaSettings, SubgraphName } from './settings.js';
import type { WebhookSettings } from './users/webhooks/settings.js';

export interface SubgraphDependencies {
  readonly region: string;
  readonly schemaPath: string;
  readonly database: DatabaseHandle;
  /** The region's read replica of the catalog database, when there is one. */
  readonly replica?: DatabaseHandle;
  readonly replicaSettings: ReplicaSettings;
  /** The catalog instance of the same region. */
  readonly catalogUrl: string;
  /** Signs the subgraph's own calls to other subgraphs. */
  readonly signingSecret: string;
  /** The users subgraph's webhook settings. @default read from the process's environment (users/server.ts) */
  readonly webhooks?: WebhookSettings;
  /** Only tests set these. */
  readonly testHooks?: UsersTestHooks;
}

export interface SubgraphKind {
  /** `catalog`: the one global database; `regional`: the database of the instance's region. */
  readonly database: 'catalog' | 'regional';
  /** Applies this subgraph's migrations and seeds its part of the data (idempotent). */
  prepare(handle: DatabaseHandle, region: string): Promise<void>;
  build(dependencies: SubgraphDependencies): AnySubgraphDefinition;
}

/** Every subgraph geofed ships, by the name supergraph.yaml gives it. */
export const subgraphKinds: Readonly<Record<SubgraphName, SubgraphKind>> = {
  catalog: {
    database: 'catalog',
    prepare: (handle) => prepareCatalogDatabase(handle),
    build: ({ region, schemaPath, database, replica, replicaSettings }) =>
      buildCatalog({ region, schemaPath, primary: database, ...(replica ? { replica } : {}), replicaSettings }),
  },
  users: {
    database: 'regional',
    prepare: prepareUsersDatabase,
    build: ({ region, schemaPath, database, webhooks, testHooks }) => buildUsers({ region, schemaPath, database, ...(webhooks ? { webhooks } : {}), ...(testHooks ? { testHooks } : {}) }),
  },
  orders: {
    database: 'regional',
    prepare: prepareOrdersDatabase,
    build: ({ region, schemaPath, database, catalogUrl, signingSecret }) =>
      buildOrders({ region, schemaPath, database, prices: catalogPriceLookup(catalogUrl, signingSecret) }),
  },
};
